// End-to-end tests of `arbiter apply` on the built binary: every
// transaction of examples/transactions against the demo state, as its
// `# expect:` line says (a new file is picked up automatically); --out
// (the written state loads and holds the change), --audit (the export
// verifies with `arbiter audit verify`, continues across runs, and a
// one-byte edit breaks it), nothing written on a refusal or a dry run, the
// transaction formats, and the usage and input errors.

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

namespace fs = std::filesystem;

using cli_testing::CliResult;
using cli_testing::MakeScratchDir;
using cli_testing::ReadFileOrDie;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

const std::string& ExamplesDir() {
  static const std::string* const dir =
      new std::string(fs::weakly_canonical(fs::path(ARBITER_CLI_TESTDATA) /
                                           "../../examples/transactions")
                          .string());
  return *dir;
}

std::string Example(const std::string& name) {
  return absl::StrCat(ExamplesDir(), "/", name);
}

// Every file of the directory, and what its first line expects.
struct ExampleFile {
  std::string path;
  std::string name;
  bool applied = false;
  std::string refusal;  // when refused
};

std::vector<ExampleFile> Examples() {
  std::vector<ExampleFile> out;
  for (const fs::directory_entry& e : fs::directory_iterator(ExamplesDir())) {
    if (!e.is_regular_file()) continue;
    ExampleFile f;
    f.path = e.path().string();
    f.name = e.path().filename().string();
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(),
            [](const ExampleFile& a, const ExampleFile& b) {
              return a.name < b.name;
            });
  return out;
}

// Parses the first line: "# expect: applied" or "# expect: refused CODE".
::testing::AssertionResult ParseExpect(ExampleFile* f) {
  const std::string data = ReadFileOrDie(f->path);
  absl::string_view line = absl::string_view(data).substr(0, data.find('\n'));
  if (!absl::ConsumePrefix(&line, "# expect: ")) {
    return ::testing::AssertionFailure()
           << f->name << ": the first line must be \"# expect: applied\" or "
           << "\"# expect: refused CODE\", not \"" << line << "\"";
  }
  if (line == "applied") {
    f->applied = true;
    return ::testing::AssertionSuccess();
  }
  if (absl::ConsumePrefix(&line, "refused ") && !line.empty() &&
      line.find(' ') == absl::string_view::npos) {
    f->refusal = std::string(line);
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << f->name << ": cannot read the expect line \"" << line << "\"";
}

class CliApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir(absl::StrCat(
        "apply_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  // The files under `dir` (relative) with their contents.
  std::vector<std::pair<std::string, std::string>> Tree(
      const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const fs::directory_entry& e :
         fs::recursive_directory_iterator(absl::StrCat(dir_, "/", dir))) {
      if (!e.is_regular_file()) continue;
      out.emplace_back(e.path().string(), ReadFileOrDie(e.path().string()));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string dir_;
};

// ---- examples/transactions ------------------------------------------------

TEST_F(CliApplyTest, EveryExampleDoesWhatItsExpectLineSays) {
  std::vector<ExampleFile> examples = Examples();
  int applied = 0;
  std::set<std::string> refusals;
  for (ExampleFile& f : examples) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(absl::EndsWith(f.name, ".txtpb"))
        << "examples/transactions holds text-format transactions (.txtpb)";
    ASSERT_TRUE(ParseExpect(&f));
    CliResult r = RunArbiter({"apply", "--demo", f.path}, dir_);
    ASSERT_TRUE(r.exited) << "crashed with signal " << r.signal;
    EXPECT_THAT(r.err, IsEmpty());
    CliResult j = RunArbiter({"apply", "--demo", f.path, "--json"}, dir_);
    EXPECT_THAT(j.err, IsEmpty());
    if (f.applied) {
      ++applied;
      EXPECT_EQ(r.exit_code, 0) << r.out;
      EXPECT_THAT(r.out,
                  MatchesRegex("(applied: revision 1 -> 2 \\([0-9]+ audit "
                               "records?; published [a-z ]+\\)|dry run at "
                               "revision 1: nothing changed; [0-9]+ audit "
                               "records? say what would:)\n(.|\n)*"));
      EXPECT_EQ(j.exit_code, 0);
      EXPECT_THAT(j.out, MatchesRegex("\\{\"outcome\":\"(applied|dry_run)\","
                                      "\"base_revision\":1,(.|\n)*\\}\n"));
    } else {
      EXPECT_EQ(r.exit_code, 1) << r.out;
      EXPECT_THAT(r.out, MatchesRegex(absl::StrCat(
                             "refused: ", f.refusal,
                             "(, [A-Z_]+)? \\([A-Z_]+\\): .+\nthe state "
                             "stays at revision 1; nothing was written\n")));
      EXPECT_EQ(j.exit_code, 1);
      EXPECT_THAT(j.out, StartsWith(absl::StrCat(
                             "{\"outcome\":\"refused\",\"refusal\":\"",
                             f.refusal, "\",")));
      EXPECT_TRUE(refusals.insert(f.refusal).second)
          << "each refused example shows a different invariant; " << f.refusal
          << " is shown twice";
    }
  }
  // The issue asks for at least ten, about half of them refused.
  EXPECT_GE(examples.size(), 12u);
  EXPECT_GE(applied, 5);
  EXPECT_GE(refusals.size(), 6u);
}

// ---- --out ---------------------------------------------------------------

TEST_F(CliApplyTest, OutWritesTheNewStateWhichLoadsAndHoldsTheChange) {
  const std::vector<std::string> grace_views = {
      "check",        "--principal",  "grace@acme.com",
      "--permission", "project.view", "--resource",
      "prod/ml-prod", "--at",         "2026-12-01T00:00:00Z"};
  auto check = [&](const std::string& state) {
    std::vector<std::string> args = grace_views;
    args.insert(args.begin() + 1, state);
    return RunArbiter(args, dir_);
  };
  // Before: denied.
  std::vector<std::string> demo = grace_views;
  demo.insert(demo.begin() + 1, "--demo");
  EXPECT_EQ(RunArbiter(demo, dir_).exit_code, 1);
  for (const char* out : {"new.textproto", "new.json", "new.binpb"}) {
    SCOPED_TRACE(out);
    CliResult r = RunArbiter(
        {"apply", "--demo", Example("applied_cloud_then_project_grant.txtpb"),
         "--out", out},
        dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("wrote ", out)));
    EXPECT_THAT(r.out, HasSubstr("revision 2)\n"));
    CliResult c = check(out);
    EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
    EXPECT_THAT(c.out, StartsWith("ALLOW"));
    EXPECT_THAT(c.out, HasSubstr("revision=2"));
  }
  EXPECT_THAT(ReadFileOrDie(dir_ + "/new.textproto"),
              StartsWith("revision: 2\n"));
  // No temporary file is left behind.
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr(".tmp")));
  }
}

TEST_F(CliApplyTest, OutMayReplaceTheInputAndRevisionsFollowEachOther) {
  ASSERT_EQ(
      RunArbiter({"convert", "--demo", "--to", "text", "-o", "org.textproto"},
                 dir_)
          .exit_code,
      0);
  // expected_revision 1: applies once; the second time the state is at 2.
  const std::string txn = Example("applied_expected_revision.txtpb");
  CliResult r = RunArbiter(
      {"apply", "org.textproto", txn, "--out", "org.textproto"}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("applied: revision 1 -> 2 "));
  const std::string after = ReadFileOrDie(dir_ + "/org.textproto");
  r = RunArbiter({"apply", "org.textproto", txn, "--out", "org.textproto"},
                 dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "refused: STALE_REVISION (ABORTED): expected_revision: the "
            "transaction was made against revision 1; the store is at "
            "revision 2\nthe state stays at revision 2; nothing was "
            "written\n");
  EXPECT_EQ(ReadFileOrDie(dir_ + "/org.textproto"), after);
}

// ---- --audit ---------------------------------------------------------------

TEST_F(CliApplyTest, AuditExportVerifiesContinuesAndBreaksOnOneByte) {
  CliResult r = RunArbiter(
      {"apply", "--demo", Example("applied_cloud_then_project_grant.txtpb"),
       "--out", "s2.textproto", "--audit", "logs"},
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("exported 3 audit records to logs:\n"
                               "  logs/org_123/audit_logs/checkpoint/"));
  CliResult v = RunArbiter({"audit", "verify", "logs"}, dir_);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, StartsWith("logs: intact: 1 organization, 3 records, 1 "
                                "checkpoint (unsigned"));
  EXPECT_THAT(v.out, HasSubstr("org_123: sequences 1..3"));

  // A second run on the new state continues the same chain.
  WriteFileOrDie(dir_ + "/t.txtpb",
                 "actor: \"dave@acme.com\"\n"
                 "mutations { set_project_member { project: \"prod/ml-prod\" "
                 "principal: \"grace@acme.com\" role: \"project_write\" } }\n");
  r = RunArbiter({"apply", "s2.textproto", "t.txtpb", "--audit", "logs"}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("applied: revision 2 -> 3 (1 audit record;"));
  EXPECT_THAT(r.out, HasSubstr("  #4 PROJECT MODIFY prj_ml_prod "
                               "{\"principal_id\":\"usr_grace\",\"role\":"
                               "\"project_write\"}\n"));
  v = RunArbiter({"audit", "verify", "logs"}, dir_);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_THAT(v.out, HasSubstr("org_123: sequences 1..5"));
  CliResult show = RunArbiter({"audit", "show", "logs"}, dir_);
  EXPECT_THAT(show.out, HasSubstr("PROJECT MODIFY prj_ml_prod by usr_dave "
                                  "<dave@acme.com> revision 3"));

  // One byte changed in a record: verify fails, and apply refuses to
  // continue the broken log (exit 2) and writes nothing.
  std::string grant_file;
  for (const auto& [path, data] : Tree("logs")) {
    if (absl::StrContains(data, "\"role\":\"project_readonly\"")) {
      grant_file = path;
    }
  }
  ASSERT_FALSE(grant_file.empty());
  std::string data = ReadFileOrDie(grant_file);
  const size_t at = data.find("project_readonly");
  data[at + std::string("project_").size()] = 'R';  // readonly -> Readonly
  WriteFileOrDie(grant_file, data);
  v = RunArbiter({"audit", "verify", "logs"}, dir_);
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_THAT(v.out, HasSubstr("hash does not match"));
  EXPECT_THAT(v.out, HasSubstr("logs: BROKEN"));
  const auto before = Tree("logs");
  r = RunArbiter({"apply", "s2.textproto", "t.txtpb", "--audit", "logs",
                  "--out", "s3.textproto"},
                 dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("arbiter apply: --audit: the log in logs does "
                               "not verify, so it cannot be continued: "));
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(Tree("logs"), before);
  EXPECT_FALSE(fs::exists(dir_ + "/s3.textproto"));
}

TEST_F(CliApplyTest, SignedAuditExport) {
  ASSERT_EQ(RunArbiter({"audit", "keygen", "--private", "k.pem", "--public",
                        "k.pub.pem"},
                       dir_)
                .exit_code,
            0);
  CliResult r = RunArbiter(
      {"apply", "--demo", Example("applied_create_cloud_and_project.txtpb"),
       "--audit", "logs", "--private-key", "k.pem"},
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CliResult v = RunArbiter(
      {"audit", "verify", "logs", "--public-key", "k.pub.pem"}, dir_);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_THAT(v.out, HasSubstr("(1 signed, verified with key"));
  ASSERT_EQ(RunArbiter({"audit", "keygen", "--private", "o.pem", "--public",
                        "o.pub.pem"},
                       dir_)
                .exit_code,
            0);
  v = RunArbiter({"audit", "verify", "logs", "--public-key", "o.pub.pem"},
                 dir_);
  EXPECT_EQ(v.exit_code, 1);
}

TEST_F(CliApplyTest, ALogOfAnotherHistoryIsNotContinued) {
  // The same transaction applied twice to the demo: the log already holds
  // revision 2, so the second run does not add a second revision 2.
  const std::string txn = Example("applied_quota.txtpb");
  ASSERT_EQ(
      RunArbiter({"apply", "--demo", txn, "--audit", "logs"}, dir_).exit_code,
      0);
  const auto before = Tree("logs");
  CliResult r = RunArbiter(
      {"apply", "--demo", txn, "--audit", "logs", "--out", "x.textproto"},
      dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "arbiter apply: --audit: the log in logs already records revision "
            "2 of organization org_123, but demo is at revision 1: apply to "
            "the state that log follows (the one written with --out); "
            "nothing was written\n");
  EXPECT_EQ(Tree("logs"), before);
  EXPECT_FALSE(fs::exists(dir_ + "/x.textproto"));
}

// ---- Nothing written ------------------------------------------------------

TEST_F(CliApplyTest, ARefusalWritesNothing) {
  // A log already there stays byte for byte; no state file appears.
  ASSERT_EQ(
      RunArbiter({"apply", "--demo", Example("applied_invite_users.txtpb"),
                  "--audit", "logs"},
                 dir_)
          .exit_code,
      0);
  const auto before = Tree("logs");
  CliResult r =
      RunArbiter({"apply", "--demo", Example("refused_read_only_cap.txtpb"),
                  "--out", "new.textproto", "--audit", "logs"},
                 dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("refused: READ_ONLY_CAP (FAILED_PRECONDITION)"
                                ": mutations[0].set_project_member: "
                                "\"usr_heidi\" holds cloud_read_only"));
  EXPECT_FALSE(fs::exists(dir_ + "/new.textproto"));
  EXPECT_EQ(Tree("logs"), before);
  // A fresh --audit directory is not even created.
  r = RunArbiter({"apply", "--demo", Example("refused_last_org_owner.txtpb"),
                  "--audit", "fresh"},
                 dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ + "/fresh"));
}

TEST_F(CliApplyTest, ADryRunWritesNothing) {
  CliResult r =
      RunArbiter({"apply", "--demo", Example("applied_scim_dry_run.txtpb"),
                  "--out", "new.textproto", "--audit", "logs"},
                 dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("dry run at revision 1: nothing changed; "));
  EXPECT_THAT(r.out, HasSubstr("USER REMOVE usr_mallory"));
  EXPECT_THAT(r.out, HasSubstr("\nnothing was written (a dry run)\n"));
  EXPECT_FALSE(fs::exists(dir_ + "/new.textproto"));
  EXPECT_FALSE(fs::exists(dir_ + "/logs"));
}

TEST_F(CliApplyTest, TooLargeIsARefusal) {
  CliResult r = RunArbiter(
      {"apply", "--demo", Example("applied_hand_over_ownership.txtpb"),
       "--max-mutations", "1", "--out", "x.textproto"},
      dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("refused: TOO_LARGE (RESOURCE_EXHAUSTED): "
                                "mutations: 2 mutations, more than the limit "
                                "of 1"));
  EXPECT_FALSE(fs::exists(dir_ + "/x.textproto"));
}

// ---- Formats --------------------------------------------------------------

TEST_F(CliApplyTest, JsonTransactionsAreStrict) {
  WriteFileOrDie(dir_ + "/t.json",
                 R"({"actor": "alice@acme.com",
 "mutations": [{"setProjectVisibility": {"project": "prod/web",
                                          "visibility": "VISIBILITY_PRIVATE"}}]}
)");
  CliResult r = RunArbiter({"apply", "--demo", "t.json"}, dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("PROJECT MODIFY prj_web {\"id\":\"prj_web\","
                               "\"visibility\":\"private\"}"));
  // A key named twice (in either spelling) is refused, not merged.
  WriteFileOrDie(dir_ + "/dup.json",
                 R"({"actor": "mallory@acme.com", "actor": "alice@acme.com",
 "mutations": [{"remove_user": {"principal": "bob@acme.com"}}]})");
  r = RunArbiter({"apply", "--demo", "dup.json"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("arbiter apply: dup.json:1:31: invalid JSON: "
                                "duplicate key \"actor\" at actor"));
  WriteFileOrDie(dir_ + "/dup2.json",
                 R"({"expectedRevision": 1, "expected_revision": 7,
 "actor": "alice@acme.com",
 "mutations": [{"remove_user": {"principal": "bob@acme.com"}}]})");
  r = RunArbiter({"apply", "--demo", "dup2.json"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("duplicate key"));
  // Standard input, in text format.
  r = RunArbiter({"apply", "--demo", "-"}, dir_,
                 Example("refused_protected_resource.txtpb"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("refused: PROTECTED_RESOURCE"));
}

TEST_F(CliApplyTest, InputErrorsExitTwo) {
  WriteFileOrDie(dir_ + "/bad.txtpb",
                 "actor: \"alice@acme.com\"\nmutations { frobnicate {} }\n");
  WriteFileOrDie(dir_ + "/state.txtpb", "organizations { id: \"o\" }\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"apply", "--demo", "missing.txtpb"}, "missing.txtpb"},
      {{"apply", "--demo", "bad.txtpb"},
       "bad.txtpb:2:24: Message type \"arbiter.v1.Mutation\" has no field "
       "named \"frobnicate\""},
      {{"apply", "missing.textproto", "bad.txtpb"}, "missing.textproto"},
      {{"apply", "--demo", Example("applied_invite_users.txtpb"), "--audit",
        "bad.txtpb"},
       "--audit: bad.txtpb: not a directory"},
      {{"apply", "--demo", Example("applied_invite_users.txtpb"), "--audit",
        "logs", "--private-key", "nope.pem"},
       "nope.pem"},
      {{"apply", "--demo", Example("applied_invite_users.txtpb"), "--out",
        "no/such/dir/new.textproto"},
       "no/such/dir/new.textproto"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    CliResult r = RunArbiter(c.args, dir_);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_THAT(r.err, StartsWith("arbiter apply: "));
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_FALSE(fs::exists(dir_ + "/logs"));
}

TEST_F(CliApplyTest, UsageErrors) {
  const std::string txn = Example("applied_invite_users.txtpb");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"apply"}, "missing STATE and TRANSACTION (or --demo TRANSACTION)"},
      {{"apply", "org.textproto"}, "missing TRANSACTION"},
      {{"apply", "--demo"}, "missing TRANSACTION"},
      {{"apply", "--demo", "a", "b"}, "give a STATE or --demo, not both"},
      {{"apply", "a", "b", "c"}, "unexpected argument \"c\""},
      {{"apply", "-", "-"},
       "STATE and TRANSACTION cannot both be standard input"},
      {{"apply", "--demo", txn, "--out", "new.state"},
       "--out: \"new.state\" has no known extension"},
      {{"apply", "--demo", txn, "--private-key", "k.pem"},
       "--private-key signs the exported audit log: give --audit DIR"},
      {{"apply", "--demo", txn, "--max-mutations", "0"},
       "--max-mutations: \"0\" is not a positive integer"},
      {{"apply", "--demo", txn, "--at", "yesterday"}, "--at: "},
      {{"apply", "--demo", txn, "--frobnicate"}, "unknown flag --frobnicate"},
      {{"apply", "--demo", txn, "--out"}, "--out needs a value"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    CliResult r = RunArbiter(c.args, dir_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith("arbiter apply: "));
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr("(see 'arbiter apply --help')"));
    EXPECT_THAT(r.out, IsEmpty());
  }
}

TEST_F(CliApplyTest, Help) {
  CliResult r = RunArbiter({"apply", "--help"}, dir_);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, StartsWith("Usage: arbiter apply (STATE | --demo) "
                                "TRANSACTION [--out NEW_STATE]\n"));
  EXPECT_THAT(r.out, HasSubstr("--audit DIR"));
  r = RunArbiter({"--help"}, dir_);
  EXPECT_THAT(r.out, MatchesRegex("(.|\n)*\n  apply +apply an admin "
                                  "transaction: the new revision, or why it "
                                  "is refused\n(.|\n)*"));
}

TEST_F(CliApplyTest, FixedTimeMakesTheOutputReproducible) {
  const std::vector<std::string> args = {"apply",
                                         "--demo",
                                         Example("applied_invite_users.txtpb"),
                                         "--at",
                                         "2026-12-01T09:00:00Z",
                                         "--json"};
  CliResult a = RunArbiter(args, dir_);
  CliResult b = RunArbiter(args, dir_);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_THAT(a.out, HasSubstr("\"timestamp\":\"2026-12-01 "
                               "09:00:00.000000+00:00\""));
}

}  // namespace
}  // namespace arbiter
