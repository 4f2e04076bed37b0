// End-to-end tests of `arbiter store` and `arbiter check --store` on the
// built binary (built only with the durable store: tools/CMakeLists.txt):
// init from a file or the demo, apply transaction files (each durable, a
// refusal with its code and exit 1), dump in every format identical to the
// imported file, verify (exit 0 intact, 1 broken, 2 missing), checkpoint,
// check on the store's last committed state, and the usage errors.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kGrantCarolResearch[] =
    "# carol joins the research cloud\n"
    "actor: \"alice@acme.com\"\n"
    "mutations { set_cloud_member { cloud: \"research\" principal: "
    "\"carol@acme.com\" role: \"cloud_readonly\" } }\n";

constexpr char kDemoteLastOwner[] =
    "actor: \"alice@acme.com\"\n"
    "mutations { set_org_role { principal: \"alice@acme.com\" role: "
    "\"org_collaborator\" } }\n";

class CliStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  CliResult Run(const std::vector<std::string>& args) {
    return RunArbiter(args, dir_);
  }
  std::string dir_;
};

TEST_F(CliStoreTest, InitApplyCheckDumpVerifyCheckpoint) {
  CliResult init = Run({"store", "init", "st", "--demo"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(init.out, MatchesRegex("st: created at revision [0-9]+: 1 "
                                     "organizations, [0-9]+ principals, "
                                     "[0-9]+ grants\n"));
  // carol cannot view the research cloud yet.
  const std::vector<std::string> check = {
      "check",       "--store",        "st",
      "--principal", "carol@acme.com", "--permission",
      "cloud.view",  "--resource",     "research"};
  CliResult before = Run(check);
  EXPECT_EQ(before.exit_code, 1) << before.out << before.err;
  EXPECT_THAT(before.out, StartsWith("DENY"));

  WriteFileOrDie(dir_ + "/grant.textproto", kGrantCarolResearch);
  CliResult apply = Run({"store", "apply", "st", "grant.textproto"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, MatchesRegex("grant.textproto: applied: revision "
                                      "[0-9]+ \\(1 audit records\\)\n"));
  CliResult after = Run(check);
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_THAT(after.out, StartsWith("ALLOW"));

  // A refusal: its code and reason, exit 1, nothing applied.
  WriteFileOrDie(dir_ + "/demote.textproto", kDemoteLastOwner);
  CliResult refused = Run({"store", "apply", "st", "demote.textproto"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.out,
              HasSubstr("demote.textproto: refused: FAILED_PRECONDITION "
                        "[LAST_ORG_OWNER]"));

  CliResult verify = Run({"store", "verify", "st"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("st: intact: revision"));
  EXPECT_THAT(verify.out, HasSubstr("1 audit records in 1 organizations"));

  CliResult audit = Run({"store", "dump", "st", "--audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("\"action\":\"GRANT\""));
  EXPECT_EQ(cli_testing::CountLines(audit.out), 1);

  CliResult cp = Run({"store", "checkpoint", "st"});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  EXPECT_THAT(cp.out, HasSubstr("(1 log entries folded in)"));
  EXPECT_EQ(Run(check).exit_code, 0);
  EXPECT_EQ(Run({"store", "verify", "st"}).exit_code, 0);
}

TEST_F(CliStoreTest, DumpIsIdenticalToTheImportedFileInEveryFormat) {
  CliResult text =
      Run({"convert", "--demo", "--to", "text", "-o", "demo.textproto"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ASSERT_EQ(
      Run({"convert", "--demo", "--to", "json", "-o", "demo.json"}).exit_code,
      0);
  ASSERT_EQ(Run({"convert", "--demo", "--to", "binary", "-o", "demo.binpb"})
                .exit_code,
            0);
  for (const std::string file : {"demo.textproto", "demo.json", "demo.binpb"}) {
    SCOPED_TRACE(file);
    const std::string store = "st_" + file;
    CliResult init = Run({"store", "init", store, file});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    const std::string format = file == "demo.textproto" ? "text"
                               : file == "demo.json"    ? "json"
                                                        : "binary";
    CliResult dump =
        Run({"store", "dump", store, "--to", format, "-o", "out." + file});
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    EXPECT_EQ(ReadFileOrDie(dir_ + "/out." + file),
              ReadFileOrDie(dir_ + "/" + file));
  }
}

TEST_F(CliStoreTest, ErrorsAndUsage) {
  CliResult missing = Run({"store", "verify", "nowhere"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nowhere"));
  EXPECT_EQ(Run({"check", "--store", "nowhere", "--principal", "a",
                 "--permission", "b", "--resource", "c"})
                .exit_code,
            2);
  ASSERT_EQ(Run({"store", "init", "st", "--demo"}).exit_code, 0);
  CliResult again = Run({"store", "init", "st", "--demo"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("holds a store already"));
  CliResult both = Run({"check", "--store", "st", "--demo", "--principal", "a",
                        "--permission", "b", "--resource", "c"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--store replaces FILE and --demo"));
  CliResult sub = Run({"store", "frobnicate", "st"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_THAT(sub.err, HasSubstr("unknown subcommand \"frobnicate\""));
  CliResult flag = Run({"store", "verify", "st", "--audit"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_THAT(flag.err, HasSubstr("--audit does not apply to verify"));
  WriteFileOrDie(dir_ + "/junk.textproto", "this is { not a transaction");
  CliResult junk = Run({"store", "apply", "st", "junk.textproto"});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_THAT(junk.err, HasSubstr("junk.textproto"));
  // A damaged store: verify says BROKEN and exits 1.
  std::string db = ReadFileOrDie(dir_ + "/st/arbiter.db");
  const size_t at = db.find("usr_alice");
  ASSERT_NE(at, std::string::npos);
  db[at] ^= 1;
  WriteFileOrDie(dir_ + "/st/arbiter.db", db);
  CliResult broken = Run({"store", "verify", "st"});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_THAT(broken.out, StartsWith("st: BROKEN: "));
  EXPECT_THAT(broken.out, HasSubstr("arbiter.db"));
}

}  // namespace
}  // namespace arbiter
