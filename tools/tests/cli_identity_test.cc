// `arbiter invite`, `arbiter sa` and `arbiter key create|revoke|rotate|list`
// on the built binary, against a copy of the demo organization: every change
// goes through the policy store (refusals exit 1 with the refusal and the
// identity rule, usage errors exit 2, nothing is written after a refusal),
// credentials are printed once and authenticate with `arbiter auth`, and no
// secret ever reaches the state file, the audit records or stderr.

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::ReadFileOrDie;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

const char kT0[] = "--at=2026-01-01T00:00:00Z";
const char kT1[] = "--at=2026-01-02T00:00:00Z";

class CliIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_testing::MakeScratchDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    CliResult r = RunArbiter({"convert", "--demo", "--to", "text"}, dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    WriteFileOrDie(Path("acme.textproto"), r.out);
  }
  void TearDown() override {
    // Whatever happened, no secret is in the state or the audit records.
    const std::string state = ReadFileOrDie(Path("acme.textproto"));
    std::string audit;
    if (std::filesystem::exists(Path("audit.jsonl"))) {
      audit = ReadFileOrDie(Path("audit.jsonl"));
    }
    for (const std::string& s : secrets_) {
      EXPECT_THAT(state, Not(HasSubstr(s)));
      EXPECT_THAT(audit, Not(HasSubstr(s)));
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string Path(const std::string& name) {
    return absl::StrCat(dir_, "/", name);
  }
  // Runs arbiter; remembers the secret of any credential it printed and
  // checks that stderr holds none.
  CliResult Run(std::vector<std::string> args) {
    CliResult r = RunArbiter(args, dir_);
    EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
    for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
      if (absl::StartsWith(line, "ask_") && line.size() > 64) {
        secrets_.push_back(std::string(line.substr(line.size() - 64)));
      }
    }
    for (const std::string& s : secrets_) {
      EXPECT_THAT(r.err, Not(HasSubstr(s)));
    }
    return r;
  }
  // A mutating command on acme.textproto, written back in place.
  CliResult Change(std::vector<std::string> args, const char* at = kT0) {
    args.insert(args.begin() + 2, "acme.textproto");
    for (const char* extra :
         {"--out", "acme.textproto", "--audit-log", "audit.jsonl"}) {
      args.push_back(extra);
    }
    args.push_back(at);
    return Run(args);
  }
  std::string FirstLine(const std::string& s) {
    return s.substr(0, s.find('\n'));
  }

  std::string dir_;
  std::vector<std::string> secrets_;
};

TEST_F(CliIdentityTest, ServiceAccountKeyIsShownOnceAndAuthenticates) {
  CliResult r =
      Change({"sa", "create", "deployer", "--actor", "alice@acme.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string credential = FirstLine(r.out);
  EXPECT_THAT(credential, MatchesRegex("ask_key_2_1_[0-9a-f]{64}"));
  EXPECT_THAT(r.out, HasSubstr("# The line above is the credential of key "
                               "key_2_1 (SERVICE_ACCOUNT, principal sa_2_0, "
                               "expires never): it is shown only now.\n"
                               "SERVICE_ACCOUNT CREATE sa_2_0\n"
                               "API_KEY CREATE key_2_1\n"));
  EXPECT_THAT(r.out, HasSubstr("revision 2 written to acme.textproto"));
  const std::string state = ReadFileOrDie(Path("acme.textproto"));
  EXPECT_THAT(state,
              HasSubstr("email: \"deployer@org-123.serviceaccount.com\""));
  EXPECT_THAT(state, HasSubstr("secret_hash: "));
  r = Run({"auth", "acme.textproto", "--key", credential, kT1});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("AUTHENTICATED principal=sa_2_0 "
                                "kind=SERVICE_ACCOUNT org=org_123 "
                                "key=key_2_1"));
  r = Run({"sa", "list", "acme.textproto", kT1});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "sa_ci ci ci@org-123.serviceaccount.com ACTIVE live_keys=0\n"
            "sa_2_0 deployer deployer@org-123.serviceaccount.com ACTIVE "
            "live_keys=1\n");
  // Deleted: its key stops at once.
  r = Change({"sa", "delete", "deployer@org-123.serviceaccount.com", "--actor",
              "alice@acme.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("SERVICE_ACCOUNT DELETE sa_2_0\n"
                               "API_KEY REVOKE key_2_1\n"));
  r = Run({"auth", "acme.textproto", "--key", credential, kT1});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("UNAUTHENTICATED KEY_REVOKED"));
  // The audit records, as JSON Lines, name the keys but hold no secret.
  const std::string audit = ReadFileOrDie(Path("audit.jsonl"));
  EXPECT_EQ(cli_testing::CountLines(audit), 5);
  EXPECT_THAT(audit, HasSubstr("\"entity\":\"API_KEY\""));
  EXPECT_THAT(audit, HasSubstr("\"key_id\":\"key_2_1\""));
}

TEST_F(CliIdentityTest, RefusalsExitOneAndWriteNothing) {
  const std::string before = ReadFileOrDie(Path("acme.textproto"));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"sa", "create", "ci", "--actor", "alice@acme.com"},
       "arbiter sa create: refused (ALREADY_EXISTS, "
       "SERVICE_ACCOUNT_NAME_TAKEN): mutations[0].create_service_account: "
       "service account name \"ci\" is taken in organization \"org_123\""},
      {{"sa", "create", "mine", "--actor", "bob@acme.com"},
       "arbiter sa create: refused (PERMISSION_DENIED): "
       "mutations[0].create_service_account: \"usr_bob\" may not "
       "org.service_accounts.manage on \"org_123\""},
      {{"key", "create", "--actor", "bob@acme.com"},
       "arbiter key create: refused (INVALID, KEY_NAME_INVALID): "
       "mutations[0].create_api_key: key of user \"usr_bob\": a personal "
       "(USER) key needs a name"},
      {{"key", "create", "--actor", "alice@acme.com", "--principal",
        "bob@acme.com", "--name", "x"},
       "arbiter key create: refused (PERMISSION_DENIED): "
       "mutations[0].create_api_key: \"usr_alice\" may not make keys for "
       "\"usr_bob\": a user's key is made by that user"},
      {{"key", "create", "--actor", "ivan@acme.com", "--name", "x"},
       "arbiter key create: refused (PERMISSION_DENIED): "
       "mutations[0].create_api_key: \"usr_ivan\" may not "
       "org.api_keys.manage_own on \"org_123\" (PRINCIPAL_INVITED)"},
      {{"key", "revoke", "key_nope", "--actor", "alice@acme.com"},
       "arbiter key revoke: refused (NOT_FOUND): mutations[0].revoke_api_key."
       "key_id: no key \"key_nope\" in organization \"org_123\""},
      {{"invite", "create", "bob@acme.com", "--actor", "alice@acme.com"},
       "arbiter invite create: refused (ALREADY_MEMBER, "
       "INVITE_ALREADY_MEMBER): mutations[0].invite_users.emails[0]: "
       "invitation of \"bob@acme.com\" to organization \"org_123\": already "
       "a member (principal \"usr_bob\")"},
      {{"invite", "create", "x@acme.com", "--actor", "carol@acme.com"},
       "arbiter invite create: refused (PERMISSION_DENIED)"},
      {{"invite", "accept", "--actor", "usr_ivan"},
       "arbiter invite accept: refused (NOT_INVITED): "
       "mutations[0].accept_invitation: \"usr_ivan\" has no pending "
       "invitation"},
  };
  for (const Case& c : cases) {
    CliResult r = Change(c.args);
    EXPECT_EQ(r.exit_code, 1) << absl::StrJoin(c.args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(ReadFileOrDie(Path("acme.textproto")), before);
  }
  EXPECT_FALSE(std::filesystem::exists(Path("audit.jsonl")));
}

TEST_F(CliIdentityTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"sa", "create", "acme.textproto", "x", "--actor", "alice@acme.com"},
      {"sa", "create", "acme.textproto", "x", "--out", "new.textproto"},
      {"sa", "frob", "acme.textproto"},
      {"key", "create", "acme.textproto", "--actor", "bob@acme.com", "--name",
       "x", "--kind", "admin", "--out", "n.textproto"},
      {"key", "create", "acme.textproto", "--actor", "bob@acme.com", "--id",
       "key_x", "--out", "n.textproto"},
      {"key", "hash", "--demo", "--principal", "usr_bob", "--name", "x",
       "--out", "n.textproto"},
      {"key", "list", "acme.textproto"},
      {"invite", "create", "acme.textproto", "--actor", "alice@acme.com",
       "--out", "n.textproto"},
      {"invite", "create", "acme.textproto", "a@b.c", "--actor",
       "alice@acme.com", "--out", "n.textproto", "--max-pending", "many"},
      {"invite", "create", "--actor", "alice@acme.com"},
  };
  for (const auto& args : cases) {
    CliResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("see 'arbiter ")) << absl::StrJoin(args, " ");
    EXPECT_FALSE(std::filesystem::exists(Path("new.textproto")));
    EXPECT_FALSE(std::filesystem::exists(Path("n.textproto")));
  }
}

TEST_F(CliIdentityTest, PersonalKeysCreateRotateListRevoke) {
  CliResult r =
      Change({"key", "create", "--actor", "bob@acme.com", "--name", "laptop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string laptop = FirstLine(r.out);
  EXPECT_THAT(r.out, HasSubstr("(USER, principal usr_bob, expires never)"));
  r = Change({"key", "create", "--actor", "bob@acme.com", "--kind", "cli-login",
              "--cli-login-ttl", "24h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string cli = FirstLine(r.out);
  EXPECT_THAT(r.out, HasSubstr("(CLI_LOGIN, principal usr_bob, expires "
                               "2026-01-02T00:00:00Z)"));
  r = Run(
      {"auth", "acme.textproto", "--key", cli, "--at", "2026-01-01T23:59:59Z"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // The record keeps the expiry (24 h after its creation).
  r = Run({"auth", "acme.textproto", "--key", cli, kT1});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("UNAUTHENTICATED KEY_EXPIRED"));
  // Rotation: one new key named like the newest personal one; the others
  // revoked.
  r = Change({"key", "rotate", "--actor", "bob@acme.com"}, kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string rotated = FirstLine(r.out);
  EXPECT_THAT(r.out, HasSubstr("API_KEY ROTATE key_4_0\n"
                               "API_KEY REVOKE key_2_0\n"
                               "API_KEY REVOKE key_3_0\n"));
  EXPECT_EQ(Run({"auth", "acme.textproto", "--key", laptop, kT1}).exit_code, 1);
  EXPECT_EQ(Run({"auth", "acme.textproto", "--key", rotated, kT1}).exit_code,
            0);
  r = Run(
      {"key", "list", "acme.textproto", "--principal", "bob@acme.com", kT1});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "key_2_0 USER REVOKED name=laptop created=2026-01-01T00:00:00Z "
            "expires=never revoked=2026-01-02T00:00:00Z\n"
            "key_3_0 CLI_LOGIN REVOKED name=- created=2026-01-01T00:00:00Z "
            "expires=2026-01-02T00:00:00Z revoked=2026-01-02T00:00:00Z\n"
            "key_4_0 USER ACTIVE name=laptop created=2026-01-02T00:00:00Z "
            "expires=never\n");
  // An org owner revokes a member's key; the member revokes all of its own.
  r = Change({"key", "revoke", "key_4_0", "--actor", "alice@acme.com"}, kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("API_KEY REVOKE key_4_0\n"));
  r = Change(
      {"key", "create", "--actor", "bob@acme.com", "--name", "again", "--json"},
      kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"revision\":6,\"out\":\"acme.textproto\","
                                "\"keys\":[{\"key_id\":\"key_6_0\","
                                "\"principal_id\":\"usr_bob\",\"kind\":"
                                "\"USER\",\"expires_at\":\"never\","
                                "\"credential\":\"ask_key_6_0_"));
  const size_t at = r.out.find("ask_key_6_0_");
  secrets_.push_back(r.out.substr(at + 12, 64));
  r = Change({"key", "revoke", "--all", "--actor", "bob@acme.com"}, kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("API_KEY REVOKE key_6_0\n"));
}

TEST_F(CliIdentityTest, InvitationsEndToEnd) {
  CliResult r = Change({"invite", "create", "new@acme.com,bob@acme.com",
                        "Dan@Acme.com", "--actor", "alice@acme.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "INVITED new@acme.com invitation=inv_2_0 principal=usr_2_2 "
            "expires=2026-01-08T00:00:00Z\n"
            "REFUSED bob@acme.com (ALREADY_MEMBER, INVITE_ALREADY_MEMBER): "
            "mutations[0].invite_users.emails[1]: invitation of "
            "\"bob@acme.com\" to organization \"org_123\": already a member "
            "(principal \"usr_bob\")\n"
            "INVITED Dan@Acme.com invitation=inv_2_1 principal=usr_2_3 "
            "expires=2026-01-08T00:00:00Z\n"
            "revision 2 written to acme.textproto (2 audit records)\n");
  r = Run({"invite", "list", "acme.textproto", kT1});
  EXPECT_EQ(r.out,
            "inv_2_0 new@acme.com PENDING inviter=usr_alice "
            "created=2026-01-01T00:00:00Z expires=2026-01-08T00:00:00Z\n"
            "inv_2_1 dan@acme.com PENDING inviter=usr_alice "
            "created=2026-01-01T00:00:00Z expires=2026-01-08T00:00:00Z\n");
  // Re-inviting replaces; deleting removes; the invitee accepts.
  r = Change({"invite", "create", "NEW@acme.com", "--actor", "alice@acme.com",
              "--json"},
             kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"invited\":true,\"invitation_id\":\"inv_3_0\""
                               ",\"principal_id\":\"usr_3_1\",\"expires_at\":"
                               "\"2026-01-09T00:00:00Z\",\"replaces\":"
                               "\"inv_2_0\"}"));
  r = Change({"invite", "delete", "new@acme.com", "--actor", "alice@acme.com"},
             kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("INVITATION DELETE inv_3_0\n"));
  r = Change({"invite", "accept", "--actor", "dan@acme.com", "--name", "Dan"},
             kT1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("USER JOIN usr_2_3\nCLOUD GRANT cld_prod\n"));
  r = Run({"check", "acme.textproto", "--principal", "dan@acme.com",
           "--permission", "cloud.view", "--resource", "prod"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Run({"invite", "list", "acme.textproto", kT1});
  EXPECT_EQ(r.out, "");
  // Housekeeping, a week later.
  r = Change({"invite", "expire", "--actor", "alice@acme.com"},
             "--at=2026-01-20T00:00:00Z");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("INVITATION PURGE org_123\n"));
  const std::string audit = ReadFileOrDie(Path("audit.jsonl"));
  EXPECT_THAT(audit, HasSubstr("\"action\":\"INVITE\""));
  EXPECT_THAT(audit, HasSubstr("\"invitee_email\":\"dan@acme.com\""));
  EXPECT_THAT(audit, HasSubstr("\"action\":\"JOIN\""));
}

}  // namespace
}  // namespace arbiter
