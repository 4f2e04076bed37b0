// End-to-end tests of `arbiter audit` on the built binary: keygen, demo,
// verify (exit 0 intact, 1 with the first broken record as FILE:LINE, 2 on
// unusable input), show, and the usage errors.

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::MakeScratchDir;
using cli_testing::ReadFileOrDie;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// The single file of `entity` in the demo log (the first export's, when
// two exports wrote one).
std::string EntityFile(const std::string& dir, const std::string& entity) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(
           absl::StrCat(dir, "/logs/org_123/audit_logs/", entity))) {
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_FALSE(files.empty()) << entity;
  return files.empty()
             ? ""
             : absl::StrCat("logs/org_123/audit_logs/", entity, "/", files[0]);
}

class CliAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    CliResult keygen = RunArbiter(
        {"audit", "keygen", "--private", "k.pem", "--public", "k.pub.pem"},
        dir_);
    ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
    EXPECT_THAT(keygen.out,
                MatchesRegex("key [0-9a-f]{16}: private key in "
                             "k.pem .*public key in k.pub.pem.*\n"));
    key_id_ = keygen.out.substr(4, 16);
    CliResult demo =
        RunArbiter({"audit", "demo", "logs", "--private-key", "k.pem"}, dir_);
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
    EXPECT_THAT(demo.out,
                StartsWith(absl::StrCat("wrote 7 files, 11 records of org_123 "
                                        "(checkpoints signed by key ",
                                        key_id_, "):\n")));
  }

  std::string dir_;
  std::string key_id_;
};

TEST_F(CliAuditTest, VerifyIntact) {
  CliResult r = RunArbiter(
      {"audit", "verify", "logs", "--public-key", "k.pub.pem"}, dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(
                         "logs: intact: 1 organization, 11 records, 3 "
                         "checkpoints (3 signed, verified with key ",
                         key_id_,
                         ")\n  org_123: sequences 1..11, last "
                         "export ")));
  EXPECT_THAT(r.err, IsEmpty());
  // Without a key: intact, but it says the signatures were not checked.
  r = RunArbiter({"audit", "verify", "logs/org_123"}, dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 signed, signatures NOT checked: pass a "
                               "public key"));
}

TEST_F(CliAuditTest, VerifyReportsTheFirstBrokenRecord) {
  const std::string file = EntityFile(dir_, "user");
  const std::string path = absl::StrCat(dir_, "/", file);
  std::string data = ReadFileOrDie(path);
  std::vector<std::string> lines = absl::StrSplit(data, '\n');
  // Line 3 is record 3 (MODIFY usr_bob): promote someone else instead.
  ASSERT_THAT(lines[2], HasSubstr("\"modifee_id\":\"usr_bob\""));
  lines[2] = absl::StrReplaceAll(
      lines[2], {{"\"modifee_id\":\"usr_bob\"", "\"modifee_id\":\"usr_eve\""}});
  WriteFileOrDie(path, absl::StrJoin(lines, "\n"));
  CliResult r = RunArbiter(
      {"audit", "verify", "logs", "--public-key", "k.pub.pem"}, dir_);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, absl::StrCat(file,
                                ":3: sequence 3: hash does not match "
                                "the record's contents (edited?)\n"
                                "logs: BROKEN (the first problem is "
                                "above)\n"));
}

TEST_F(CliAuditTest, VerifyWithTheWrongKey) {
  ASSERT_EQ(RunArbiter({"audit", "keygen", "--private", "o.pem", "--public",
                        "o.pub.pem"},
                       dir_)
                .exit_code,
            0);
  CliResult r = RunArbiter(
      {"audit", "verify", "logs", "--public-key", "o.pub.pem"}, dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat(
                  EntityFile(dir_, "checkpoint"),
                  ":1: sequence 7: checkpoint signed with key ", key_id_)));
  // Both keys (a rotation): intact.
  r = RunArbiter(
      {"audit", "verify", "logs", "-k", "o.pub.pem", "-k", "k.pub.pem"}, dir_);
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(CliAuditTest, VerifyARemovedFile) {
  std::filesystem::remove(
      absl::StrCat(dir_, "/", EntityFile(dir_, "project")));  // record 4
  CliResult r = RunArbiter({"audit", "verify", "logs"}, dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(
                         EntityFile(dir_, "service_account"),
                         ":1: sequence 5: follows sequence 3: record 4 is "
                         "missing\n")));
}

TEST_F(CliAuditTest, InputErrorsExitTwo) {
  CliResult r = RunArbiter({"audit", "verify", "nope"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "arbiter audit: nope: not a directory\n");
  r = RunArbiter({"audit", "verify", "logs", "--public-key", "k.pem"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("arbiter audit: k.pem: not a PEM public key"));
  r = RunArbiter({"audit", "verify", "logs", "--public-key", "missing.pem"},
                 dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.pem: cannot open"));
  // keygen never overwrites.
  const std::string before = ReadFileOrDie(dir_ + "/k.pem");
  r = RunArbiter(
      {"audit", "keygen", "--private", "k.pem", "--public", "new.pub.pem"},
      dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("k.pem: File exists (refusing to overwrite a "
                               "key)"));
  EXPECT_EQ(ReadFileOrDie(dir_ + "/k.pem"), before);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/new.pub.pem"));
  // The demo does not write over a log.
  r = RunArbiter({"audit", "demo", "logs"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("logs/org_123 exists"));
}

TEST_F(CliAuditTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"audit"}, "missing SUBCOMMAND: verify, show, keygen or demo"},
      {{"audit", "frob"}, "unknown subcommand \"frob\""},
      {{"audit", "verify"}, "verify: missing DIR"},
      {{"audit", "verify", "a", "b"}, "verify: unexpected argument \"b\""},
      {{"audit", "show", "logs", "--public-key", "k.pub.pem"},
       "--public-key does not apply to 'show'"},
      {{"audit", "keygen", "--private", "x.pem"},
       "keygen needs --private OUT.pem and --public OUT.pub.pem"},
      {{"audit", "keygen", "--private", "x", "--public", "x"},
       "--private and --public name the same file"},
      {{"audit", "verify", "logs", "--frobnicate"},
       "unknown flag --frobnicate"},
  };
  for (const Case& c : cases) {
    CliResult r = RunArbiter(c.args, dir_);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr("(see 'arbiter audit --help')"));
  }
}

TEST_F(CliAuditTest, Help) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"audit", "--help"},
                                             {"audit", "verify", "--help"},
                                             {"help", "audit"}}) {
    CliResult r = RunArbiter(args, dir_);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, StartsWith("Usage: arbiter audit verify DIR "
                                  "[--public-key PUB.pem]...\n"));
    EXPECT_THAT(r.out, HasSubstr("verify DIR   checks every organization's"));
    EXPECT_THAT(r.out, HasSubstr("--public-key PUB.pem"));
  }
  CliResult r = RunArbiter({"--help"}, dir_);
  EXPECT_THAT(r.out, HasSubstr("  audit     verify, read and sign exported "
                               "audit logs\n"));
}

TEST_F(CliAuditTest, Show) {
  CliResult r = RunArbiter({"audit", "show", "logs"}, dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_THAT(lines[0],
              MatchesRegex("org_123 #1 [0-9-]+ [0-9:.]+\\+00:00 USER INVITE "
                           "usr_nina by usr_alice <alice@acme.com> from "
                           "10.0.0.7 revision 8 "
                           "\\{\"invitee_email\":\"nina@acme.com\"\\}"));
  EXPECT_THAT(lines[5], HasSubstr("REFUSED PERMISSION_DENIED: usr_mallory "
                                  "lacks org.users.manage"));
  EXPECT_THAT(lines[10], HasSubstr(absl::StrCat(
                             "CHECKPOINT CHECKPOINT revision 14 [export, "
                             "signed by ",
                             key_id_, "]")));
  EXPECT_THAT(r.err, HasSubstr("(11 records, not verified"));
  r = RunArbiter({"audit", "show", "logs", "--json"}, dir_);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, StartsWith("{\"timestamp\":\""));
  EXPECT_EQ(cli_testing::CountLines(r.out), 11);
}

}  // namespace
}  // namespace arbiter
