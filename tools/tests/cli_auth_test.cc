// `arbiter key hash` and `arbiter auth` on the built binary: a minted key
// authenticates once its record is in the state, every refusal exits 1, and
// the secret never appears in any output of the command, nor in the state.

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

const char kAt[] = "--at=2026-06-01T00:00:00Z";

class CliAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(cli_testing::MakeScratchDir("auth"));
    CliResult r = RunArbiter({"convert", "--demo", "--to", "text"}, *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string state = r.out;
    // Alice's personal key, the service account's key, and an expiring key.
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{
             {"--principal", "usr_alice", "--name", "laptop", "--id",
              "key_alice"},
             {"--principal", "sa_ci", "--kind", "service-account", "--id",
              "key_ci"},
             {"--principal", "usr_bob", "--name", "short", "--id", "key_bob",
              "--expires", "2026-03-01T00:00:00Z"}}) {
      std::vector<std::string> full = {"key", "hash", "--demo",
                                       "--at=2026-01-01T00:00:00Z"};
      full.insert(full.end(), args.begin(), args.end());
      r = RunArbiter(full, *dir_);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const size_t eol = r.out.find('\n');
      credentials_->push_back(r.out.substr(0, eol));
      state += r.out.substr(eol + 1);
    }
    WriteFileOrDie(Path("acme.textproto"), state);
    WriteFileOrDie(
        Path("sso.textproto"),
        state +
            "identity_settings { org_id: \"org_123\" sso_mode: "
            "SSO_MODE_REQUIRED domains { domain: \"acme.com\" verified: "
            "true } }\n");
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Path(const std::string& name) {
    return absl::StrCat(*dir_, "/", name);
  }
  static CliResult Run(const std::vector<std::string>& args,
                       const std::string& stdin_data = "") {
    std::string stdin_path;
    if (!stdin_data.empty()) {
      stdin_path = Path("stdin.txt");
      WriteFileOrDie(stdin_path, stdin_data);
    }
    CliResult r = RunArbiter(args, *dir_, stdin_path);
    EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
    // Whatever happened, no secret was printed.
    for (const std::string& c : *credentials_) {
      const std::string secret = c.substr(c.size() - 64);
      EXPECT_THAT(r.out + r.err, Not(HasSubstr(secret.substr(0, 16))));
    }
    return r;
  }
  static const std::string& Key(int i) { return (*credentials_)[i]; }

  static std::string* dir_;
  static std::vector<std::string>* credentials_;
};
std::string* CliAuthTest::dir_ = nullptr;
std::vector<std::string>* CliAuthTest::credentials_ =
    new std::vector<std::string>();

TEST_F(CliAuthTest, KeyHashPrintsTheCredentialThenTheRecord) {
  ASSERT_EQ(credentials_->size(), 3u);
  EXPECT_THAT(Key(0), MatchesRegex("ask_key_alice_[0-9a-f]{64}"));
  const std::string state = ReadFileOrDie(Path("acme.textproto"));
  EXPECT_THAT(state, HasSubstr("id: \"key_alice\""));
  EXPECT_THAT(state, HasSubstr("org_id: \"org_123\""));
  for (const std::string& c : *credentials_) {
    EXPECT_THAT(state, Not(HasSubstr(c.substr(c.size() - 64))));
  }
}

TEST_F(CliAuthTest, AuthenticatesAndExitsZero) {
  CliResult r = Run({"auth", "acme.textproto", "--key", Key(0), kAt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "AUTHENTICATED principal=usr_alice kind=USER org=org_123 "
            "key=key_alice key_kind=USER index=0 valid_until=never "
            "revision=1\n");
  r = Run({"auth", "acme.textproto", "--key", "-", "--json", kAt},
          Key(1) + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"authenticated\":true,\"reason\":"
                                "\"AUTHENTICATED\",\"principal\":\"sa_ci\""));
}

TEST_F(CliAuthTest, RefusalsExitOne) {
  std::string wrong = Key(0);
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  std::string typo = Key(0);
  typo[typo.size() - 10] = 'G';
  struct Case {
    std::vector<std::string> args;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{"--key", wrong},
       "UNAUTHENTICATED WRONG_SECRET key=key_alice revision=1"},
      {{"--key", typo}, "UNAUTHENTICATED MALFORMED_CREDENTIAL revision=1"},
      {{"--key", Key(2), "--at=2026-03-01T00:00:00Z"},
       "UNAUTHENTICATED KEY_EXPIRED"},
      {{"--key", Key(1), "--channel", "console"},
       "UNAUTHENTICATED SERVICE_ACCOUNT_CONSOLE"},
      {{"--key", Key(0), "--org", "org_999"}, "UNAUTHENTICATED UNKNOWN_ORG"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"auth", "acme.textproto"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    if (absl::StrJoin(c.args, " ").find("--at") == std::string::npos) {
      args.push_back(kAt);
    }
    CliResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << c.reason << "\n" << r.err;
    EXPECT_THAT(r.out, StartsWith(c.reason));
  }
  // The demo state has none of these keys.
  CliResult r = Run({"auth", "--demo", "--key", Key(0)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "UNAUTHENTICATED UNKNOWN_KEY revision=1\n");
}

TEST_F(CliAuthTest, SsoLogins) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string out;
  };
  const std::vector<Case> cases = {
      {{"--email", "alice@acme.com"}, 1, "UNAUTHENTICATED SSO_REQUIRED"},
      {{"--email", "Alice@Acme.com", "--sso"}, 0, "AUTHENTICATED"},
      {{"--email", "ci@org-123.serviceaccount.com", "--sso"},
       1,
       "UNAUTHENTICATED SERVICE_ACCOUNT_CONSOLE"},
      {{"--email", "ivan@acme.com", "--sso"},
       1,
       "UNAUTHENTICATED PRINCIPAL_INVITED"},
      {{"--email", "judy@acme.com", "--magic-link"},
       1,
       "UNAUTHENTICATED PRINCIPAL_DELETED"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"auth", "sso.textproto", "--org",
                                     "org_123"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = Run(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.out << "\n" << r.err;
    EXPECT_THAT(r.out, StartsWith(c.out));
  }
  // Keys of an SSO user follow --sso-keys.
  EXPECT_EQ(Run({"auth", "sso.textproto", "--key", Key(0), kAt}).exit_code, 0);
  CliResult r = Run(
      {"auth", "sso.textproto", "--key", Key(0), "--sso-keys", "none", kAt});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("UNAUTHENTICATED SSO_REQUIRED"));
}

TEST_F(CliAuthTest, KeyHashRefusalsAndUsage) {
  CliResult r = Run({"key", "hash", "--demo", "--principal", "sa_ci", "--kind",
                     "user", "--name", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused (KEY_KIND_MISMATCH)"));
  r = Run({"key", "hash", "--demo", "--principal", "usr_ivan", "--name", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused (PRINCIPAL_NOT_ACTIVE)"));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"key", "--demo", "--principal", "usr_alice"},
           {"key", "hash", "--demo"},
           {"key", "hash", "--demo", "--principal", "usr_alice", "--kind",
            "robot"},
           {"auth", "--demo"},
           {"auth", "--demo", "--key", "x", "--email", "y"},
           {"auth", "--demo", "--email", "alice@acme.com"},
           {"auth", "--demo", "--key", "x", "--sso"},
           {"auth", "--demo", "--key", "x", "--sso-keys", "some"},
           {"auth", "-", "--key", "-"}}) {
    r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace arbiter
