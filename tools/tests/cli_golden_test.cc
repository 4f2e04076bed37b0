// End-to-end golden tests of the arbiter command: each case runs the built
// binary in a scratch copy of tools/testdata and compares the transcript
// (command, standard output, standard error, exit code) with
// tools/testdata/golden/<case>.txt.
//
// To regenerate the golden files after an intended change:
//   ARBITER_UPDATE_GOLDEN=1 ./build/tools/cli_cli_golden_test
// and review the diff.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>
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

struct GoldenCase {
  const char* name;
  std::vector<std::string> args;
  const char* stdin_file = "";
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

std::string& ScratchDir() {
  static std::string* dir = new std::string;
  return *dir;
}

// Copies tools/testdata into a scratch directory and adds the generated
// inputs: the demo in every format and a few broken files.
void PrepareScratchDir() {
  std::string& dir = ScratchDir();
  if (!dir.empty()) return;
  dir = cli_testing::MakeScratchDir("golden");
  ASSERT_EQ(std::system(
                absl::StrCat("cp -r '", ARBITER_CLI_TESTDATA, "'/. '", dir, "'")
                    .c_str()),
            0);
  CliResult r = RunArbiter({"demo", "--source"}, dir);
  ASSERT_EQ(r.exit_code, 0);
  WriteFileOrDie(dir + "/acme.textproto", r.out);
  for (const char* out : {"acme.json", "acme.binpb"}) {
    r = RunArbiter({"convert", "--demo", "--output", out}, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string binary = ReadFileOrDie(dir + "/acme.binpb");
  // Cutting the last byte truncates the last grant: never a valid message.
  WriteFileOrDie(dir + "/truncated.binpb", binary.substr(0, binary.size() - 1));
  std::string junk;
  for (int i = 0; i < 1024; ++i) junk.push_back(static_cast<char>(i * 7));
  WriteFileOrDie(dir + "/junk.bin", junk);
  WriteFileOrDie(dir + "/json_inside.textproto",
                 ReadFileOrDie(dir + "/acme.json"));
  WriteFileOrDie(dir + "/empty.textproto", "");
  ASSERT_EQ(mkdir((dir + "/a_directory").c_str(), 0755), 0);
}

std::string Transcript(const GoldenCase& c, const CliResult& r) {
  std::string out = absl::StrCat("$ arbiter ", absl::StrJoin(c.args, " "));
  if (*c.stdin_file != '\0') absl::StrAppend(&out, " < ", c.stdin_file);
  absl::StrAppend(&out, "\n", r.out);
  if (!r.out.empty() && r.out.back() != '\n') out.push_back('\n');
  if (!r.err.empty()) absl::StrAppend(&out, "--- stderr\n", r.err);
  absl::StrAppend(
      &out, "--- exit ",
      r.exited ? absl::StrCat(r.exit_code) : absl::StrCat("signal ", r.signal),
      "\n");
  return out;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {
 protected:
  static void SetUpTestSuite() { PrepareScratchDir(); }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(ScratchDir(), ignored);
    ScratchDir().clear();
  }
};

TEST_P(GoldenTest, MatchesGoldenFile) {
  const GoldenCase& c = GetParam();
  const std::string stdin_path =
      *c.stdin_file == '\0' ? ""
                            : absl::StrCat(ScratchDir(), "/", c.stdin_file);
  const CliResult r = RunArbiter(c.args, ScratchDir(), stdin_path);
  EXPECT_TRUE(r.exited) << "killed by signal " << r.signal;
  const std::string transcript = Transcript(c, r);
  const std::string golden_path =
      absl::StrCat(ARBITER_CLI_TESTDATA, "/golden/", c.name, ".txt");
  const char* update = std::getenv("ARBITER_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    WriteFileOrDie(golden_path, transcript);
    return;
  }
  EXPECT_EQ(transcript, ReadFileOrDie(golden_path))
      << "golden file " << golden_path
      << " differs; rerun with ARBITER_UPDATE_GOLDEN=1 to regenerate";
}

const std::string kAt = "--at=2026-12-01T00:00:00Z";

std::vector<GoldenCase> Cases() {
  return {
      // ---- help and usage ----
      {"help", {"--help"}},
      {"help_check", {"check", "--help"}},
      {"help_test", {"help", "test"}},
      {"help_options", {"help", "options"}},
      {"usage_no_command", {}},
      {"usage_unknown_command", {"frobnicate"}},
      {"usage_unknown_flag", {"check", "--demo", "--frobnicate"}},
      {"usage_missing_value", {"check", "--demo", "--principal"}},
      {"usage_missing_state", {"check", "--principal", "a@b.c"}},
      {"usage_file_and_demo", {"check", "acme.json", "--demo"}},
      {"usage_bad_at",
       {"check", "--demo", "--principal", "bob@acme.com", "--permission",
        "cloud.view", "--resource", "prod", "--at", "next tuesday"}},
      {"usage_bad_option", {"check", "--demo", "--option", "colour=blue"}},
      {"usage_bad_format", {"validate", "acme.json", "--format", "yaml"}},
      // ---- validate ----
      {"validate_demo", {"validate", "--demo"}},
      {"validate_formats",
       {"validate", "acme.textproto", "acme.json", "acme.binpb"}},
      {"validate_semantic_errors", {"validate", "bad_policy.textproto"}},
      {"validate_max_errors",
       {"validate", "bad_policy.textproto", "--max-errors", "2"}},
      {"validate_syntax_error_text", {"validate", "syntax_error.textproto"}},
      {"validate_syntax_error_json", {"validate", "syntax_error.json"}},
      {"validate_unknown_json_field", {"validate", "unknown_field.json"}},
      {"validate_mixed",
       {"validate", "acme.json", "bad_policy.textproto", "missing.json"}},
      {"validate_stdin", {"validate", "-", "--format", "json"}, "acme.json"},
      {"validate_quiet", {"validate", "two_orgs.textproto", "--quiet"}},
      {"validate_service_account_owner",
       {"validate", "sa_org_owner.textproto"}},
      {"validate_service_account_owner_allowed",
       {"validate", "sa_org_owner.textproto", "--option",
        "allow_service_account_org_owner=true"}},
      // ---- check ----
      {"check_allow_org_owner",
       {"check", "--demo", "--principal", "alice@acme.com", "--permission",
        "project.workload.delete", "--resource", "prod/ml-prod/nightly-etl",
        kAt}},
      {"check_deny_private_project",
       {"check", "--demo", "--principal", "bob@acme.com", "--permission",
        "project.view", "--resource", "prod/ml-prod", kAt}},
      {"check_public_project_auto_add",
       {"check", "acme.binpb", "--principal", "usr_frank", "--permission",
        "project.workload.create", "--resource", "prj_web", kAt}},
      {"check_json",
       {"check", "acme.json", "--principal", "kim@acme.com", "--permission",
        "project.workload.view", "--resource", "prod/ml-prod/dave-notebook",
        "--json", kAt}},
      {"check_expired_grant",
       {"check", "--demo", "--principal", "grace@acme.com", "--permission",
        "project.view", "--resource", "research/ml-research",
        "--at=2027-01-01T00:00:00Z"}},
      {"check_console_service_account",
       {"check", "--demo", "--principal", "ci@org-123.serviceaccount.com",
        "--permission", "project.view", "--resource", "prod/ml-prod",
        "--channel", "console", kAt}},
      {"check_option_writers_delete_all",
       {"check", "--demo", "--principal", "erin@acme.com", "--permission",
        "project.workload.delete", "--resource", "prod/ml-prod/dave-notebook",
        "--option", "project_write_workload_delete=all", kAt}},
      {"check_quiet",
       {"check", "--demo", "--principal", "mallory@acme.com", "--permission",
        "project.view", "--resource", "prod/web", "-q", kAt}},
      {"check_ambiguous_email",
       {"check", "two_orgs.textproto", "--principal", "sam@example.com",
        "--permission", "project.view", "--resource", "main/secret"}},
      {"check_org_flag",
       {"check", "two_orgs.textproto", "--principal", "sam@example.com",
        "--org", "alpha", "--permission", "project.view", "--resource",
        "main/secret"}},
      {"check_queries", {"check", "--demo", "--queries", "queries.jsonl", kAt}},
      {"check_queries_stdin",
       {"check", "--demo", "--queries", "-", kAt},
       "queries.jsonl"},
      {"check_queries_malformed",
       {"check", "--demo", "--queries", "malformed_queries.jsonl", kAt}},
      {"check_queries_binary_junk",
       {"check", "--demo", "--queries", "junk.bin", kAt}},
      // ---- explain ----
      {"explain_deny_role",
       {"explain", "--demo", "--principal", "heidi@acme.com", "--permission",
        "project.workload.create", "--resource", "prod/web", kAt}},
      {"explain_missing_prerequisite",
       {"explain", "--demo", "--principal", "mallory@acme.com", "--permission",
        "project.view", "--resource", "prod/web", kAt}},
      {"explain_group_grant",
       {"explain", "--demo", "--principal", "kim@acme.com", "--permission",
        "project.workload.view", "--resource", "prod/ml-prod/dave-notebook",
        kAt}},
      {"explain_expired",
       {"explain", "--demo", "--principal", "grace@acme.com", "--permission",
        "project.view", "--resource", "research/ml-research",
        "--at=2027-02-01T00:00:00Z"}},
      {"explain_unknown_resource",
       {"explain", "--demo", "--principal", "bob@acme.com", "--permission",
        "project.view", "--resource", "prod/nope", kAt}},
      {"explain_json",
       {"explain", "--demo", "--principal", "erin@acme.com", "--permission",
        "project.workload.delete", "--resource", "prod/ml-prod/dave-notebook",
        "--json", kAt}},
      // ---- iam (needs the IAM mapping of src/iam) ----
      {"iam_first_rule_wins",
       {"iam", "--demo", "--cloud", "prod", "--type", "job", "--project",
        "ml-prod", "--user", "dave@acme.com"}},
      {"iam_cloud_default",
       {"iam", "--demo", "--cloud", "prod", "--type", "workspace", "--project",
        "web", "--user", "alice@acme.com"}},
      {"iam_fail",
       {"iam", "acme.json", "--cloud", "research", "--type", "job", "--user",
        "grace@acme.com"}},
      {"iam_json",
       {"iam", "--demo", "--cloud", "cld_prod", "--type", "service",
        "--project", "web", "--user", "ci@org-123.serviceaccount.com",
        "--json"}},
      {"iam_identity_only",
       {"iam", "--demo", "--cloud", "prod", "--type", "workspace", "--project",
        "ml-prod", "--user", "dave@acme.com", "--identity-only"}},
      {"iam_unknown_cloud",
       {"iam", "--demo", "--cloud", "staging", "--type", "job"}},
      {"iam_bad_type", {"iam", "--demo", "--cloud", "prod", "--type", "batch"}},
      // ---- test suites ----
      {"test_pass", {"test", "suites/acme_test.textproto"}},
      {"test_pass_verbose_json", {"test", "suites/two_orgs_test.json", "-v"}},
      {"test_failures", {"test", "suites/failing_test.textproto"}},
      {"test_several",
       {"test", "suites/acme_test.textproto", "suites/failing_test.textproto"}},
      {"test_inline_state", {"test", "suites/inline_test.textproto", "-v"}},
      {"test_option_overrides_suite",
       {"test", "suites/inline_test.textproto", "--option",
        "project_write_workload_delete=own"}},
      {"test_demo_overrides_state",
       {"test", "suites/two_orgs_test.json", "--demo"}},
      {"test_malformed", {"test", "suites/malformed_test.textproto"}},
      {"test_syntax_error", {"test", "suites/syntax_test.textproto"}},
      {"test_missing", {"test", "suites/missing_test.textproto"}},
      // ---- profile, convert, demo ----
      {"profile", {"profile"}},
      {"convert_to_json", {"convert", "two_orgs.textproto", "--to", "json"}},
      {"convert_json_to_text", {"convert", "acme.json", "--to", "text"}},
      {"convert_missing_to", {"convert", "acme.json"}},
      {"demo", {"demo"}},
      // ---- bad inputs: one line on stderr, exit 2 ----
      {"bad_binary_junk",
       {"check", "junk.bin", "--principal", "a", "--permission", "b",
        "--resource", "c"}},
      {"bad_truncated_binary",
       {"check", "truncated.binpb", "--principal", "a", "--permission", "b",
        "--resource", "c"}},
      {"bad_wrong_format_flag",
       {"check", "acme.textproto", "--format", "json", "--principal", "a",
        "--permission", "b", "--resource", "c"}},
      {"bad_wrong_extension",
       {"check", "json_inside.textproto", "--principal", "a", "--permission",
        "b", "--resource", "c"}},
      {"bad_binary_as_text",
       {"explain", "acme.binpb", "--format", "text", "--principal", "a",
        "--permission", "b", "--resource", "c"}},
      {"bad_too_large",
       {"check", "acme.json", "--max-bytes", "4K", "--principal", "a",
        "--permission", "b", "--resource", "c"}},
      {"bad_missing_file",
       {"iam", "missing.textproto", "--cloud", "prod", "--type", "job"}},
      {"bad_directory", {"profile", "a_directory"}},
      {"bad_not_a_directory", {"convert", "acme.json/x", "--to", "text"}},
      {"bad_invalid_policy",
       {"check", "bad_policy.textproto", "--principal", "a", "--permission",
        "b", "--resource", "c"}},
      {"bad_empty_state",
       {"check", "empty.textproto", "--principal", "a", "--permission", "b",
        "--resource", "c"}},
      {"bad_queries_file", {"check", "--demo", "--queries", "missing.jsonl"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Cli, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace arbiter
