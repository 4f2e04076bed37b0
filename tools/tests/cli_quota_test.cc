// End-to-end tests of `arbiter quota list|check` and `arbiter admit` on the
// built binary, with examples/quotas.textproto and
// examples/quota_usage.jsonl (the examples of docs/quotas.md): exit codes
// (0 admit, 1 block, 2 usage or input error), the parts of the answers,
// JSON that parses, and usage-file errors that name the line.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/tests/run_cli.h"

namespace arbiter {
namespace {

using cli_testing::CliResult;
using cli_testing::MakeScratchDir;
using cli_testing::RunArbiter;
using cli_testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

std::string Example(const std::string& name) {
  return absl::StrCat(ARBITER_CLI_TESTDATA, "/../../examples/", name);
}

class CliQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeScratchDir("quota"); }
  CliResult Run(std::vector<std::string> args) {
    return RunArbiter(args, dir_);
  }
  std::string dir_;
};

bool ParsesAsJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return !d.HasParseError() && d.IsObject();
}

TEST_F(CliQuotaTest, ListShowsQuotasAndBudgets) {
  CliResult r = Run({"quota", "list", Example("quotas.textproto")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rsq_ml_prod \"ml-prod GPUs\"  enabled hard  "
                               "cloud=prod project=ml-prod user=ALL  gpus=16 "
                               "A100-80G=8"));
  EXPECT_THAT(r.out,
              HasSubstr("rsq_research_off \"research (off)\"  disabled"));
  EXPECT_THAT(r.out, HasSubstr("rsq_web_old \"web (deleted)\"  deleted"));
  EXPECT_THAT(r.out, HasSubstr("bud_ml_monthly \"ml-prod monthly\"  enabled "
                               "MONTHLY 2000.00 credits"));
  EXPECT_THAT(r.err, IsEmpty());

  CliResult research = Run({"quota", "list", Example("quotas.textproto"),
                            "--cloud", "research", "--json"});
  ASSERT_EQ(research.exit_code, 0) << research.err;
  EXPECT_TRUE(ParsesAsJson(research.out)) << research.out;
  EXPECT_THAT(research.out, HasSubstr("\"id\":\"rsq_research_off\""));
  EXPECT_THAT(research.out, Not(HasSubstr("rsq_ml_prod")));

  CliResult demo = Run({"quota", "list", "--demo"});
  EXPECT_EQ(demo.exit_code, 0);
  EXPECT_THAT(demo.out, HasSubstr("QUOTAS\n  (none)"));
}

TEST_F(CliQuotaTest, ListReportsProblemsAndExitsOne) {
  const std::string state = absl::StrCat(dir_, "/bad.textproto");
  WriteFileOrDie(state, R"pb(
    revision: 1
    organizations { id: "org_1" name: "acme" }
    clouds { id: "cld_1" org_id: "org_1" name: "prod" }
    projects { id: "prj_1" cloud_id: "cld_1" name: "default" is_default: true }
    quotas {
      id: "rsq_1"
      cloud_id: "cld_1"
      limits { num_cpus: -4 }
    }
    quotas { id: "rsq_2" cloud_id: "cld_1" }
  )pb");
  CliResult r = Run({"quota", "list", state});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(
      r.err,
      HasSubstr(
          "INVALID_ARGUMENT: quotas[0].limits.num_cpus: negative limit -4"));
  EXPECT_THAT(
      r.err,
      HasSubstr("ALREADY_EXISTS: quotas[1]: a quota for (cloud \"cld_1\""));
}

TEST_F(CliQuotaTest, CheckBlocksOnAHardQuota) {
  CliResult r = Run({"quota", "check", Example("quotas.textproto"), "--usage",
                     Example("quota_usage.jsonl"), "--node", "prod/ml-prod",
                     "--creator", "erin@acme.com", "--gpus", "4",
                     "--accelerator-type", "A100-80G", "--accelerators", "4"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out,
              StartsWith("BLOCK HARD_QUOTA_EXCEEDED quota=rsq_ml_prod (hard) "
                         "accelerators[A100-80G] usage=8 requested=4 limit=8; "
                         "quota=rsq_erin_ml (hard) accelerators[A100-80G] "
                         "usage=0 requested=4 limit=0"));
  EXPECT_THAT(
      r.out, HasSubstr("accelerators[A100-80G]        0 in use + 4 requested > "
                       "limit 0  BLOCKS"));
}

TEST_F(CliQuotaTest, CheckAdmitsAlertsAndReachesLimitsExactly) {
  // 12 GPUs run in ml-prod; 4 more reach its limit of 16 exactly.
  CliResult exact =
      Run({"quota", "check", Example("quotas.textproto"), "--usage",
           Example("quota_usage.jsonl"), "--node", "prod/ml-prod", "--creator",
           "dave@acme.com", "--gpus", "4", "--json"});
  EXPECT_EQ(exact.exit_code, 0) << exact.err;
  EXPECT_TRUE(ParsesAsJson(exact.out)) << exact.out;
  EXPECT_THAT(exact.out, HasSubstr("\"outcome\":\"ADMIT\""));
  EXPECT_THAT(exact.out,
              HasSubstr("{\"dimension\":\"gpus\",\"usage\":12,"
                        "\"requested\":4,\"limit\":16,\"passes\":false}"));
  CliResult past =
      Run({"quota", "check", Example("quotas.textproto"), "--usage",
           Example("quota_usage.jsonl"), "--node", "prod/ml-prod", "--creator",
           "dave@acme.com", "--gpus", "5"});
  EXPECT_EQ(past.exit_code, 1);
  // dave's soft CPU quota: 16 running + 64 > 64 alerts, and admits.
  CliResult soft = Run({"quota", "check", Example("quotas.textproto"),
                        "--usage", Example("quota_usage.jsonl"), "--node",
                        "prod", "--creator", "dave@acme.com", "--cpus", "64"});
  EXPECT_EQ(soft.exit_code, 0) << soft.err;
  EXPECT_THAT(soft.out, StartsWith("ADMIT_WITH_ALERT SOFT_QUOTA_EXCEEDED "
                                   "quota=rsq_dave_cpus (soft) cpus usage=16 "
                                   "requested=64 limit=64"));
}

TEST_F(CliQuotaTest, AdmitCombinesTheParts) {
  CliResult r =
      Run({"admit", Example("quotas.textproto"), "--usage",
           Example("quota_usage.jsonl"), "--principal", "dave@acme.com",
           "--project", "prod/ml-prod", "--type", "workspace", "--cpus", "8",
           "--gpus", "1", "--at", "2026-03-15T12:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("ADMIT_WITH_ALERT\n"));
  EXPECT_THAT(r.out,
              HasSubstr("rbac:   ALLOW GRANT grant=g_dave_ml_prod_owner"));
  EXPECT_THAT(r.out, HasSubstr("iam:    MAPPED ml-role RULE_MATCHED rule=1"));
  EXPECT_THAT(r.out, HasSubstr("quota:  ADMIT WITHIN_QUOTA quotas=3"));
  EXPECT_THAT(r.out,
              HasSubstr("budget: bud_prod_daily DAILY 5000.00 of 5000.00 "
                        "credits (100.0%) OVER BUDGET"));

  CliResult rbac =
      Run({"admit", Example("quotas.textproto"), "--principal",
           "mallory@acme.com", "--project", "prod", "--type", "job"});
  EXPECT_EQ(rbac.exit_code, 1);
  EXPECT_THAT(rbac.out, StartsWith("BLOCK (RBAC)\n"));

  CliResult iam = Run({"admit", Example("quotas.textproto"), "--principal",
                       "alice@acme.com", "--project", "research", "--type",
                       "job", "--json"});
  EXPECT_EQ(iam.exit_code, 1);
  EXPECT_TRUE(ParsesAsJson(iam.out)) << iam.out;
  EXPECT_THAT(iam.out, HasSubstr("\"blocker\":\"IAM\""));

  // 12 GPUs run in ml-prod (limit 16): a head node with 5 is blocked.
  CliResult quota = Run({"admit", Example("quotas.textproto"), "--usage",
                         Example("quota_usage.jsonl"), "--principal",
                         "dave@acme.com", "--project", "prod/ml-prod", "--type",
                         "job", "--gpus", "5", "--json"});
  EXPECT_EQ(quota.exit_code, 1) << quota.out;
  EXPECT_TRUE(ParsesAsJson(quota.out)) << quota.out;
  EXPECT_THAT(quota.out, HasSubstr("\"blocker\":\"QUOTA\""));
  EXPECT_THAT(quota.out, HasSubstr("{\"quota\":\"rsq_ml_prod\",\"hard\":true,"
                                   "\"dimension\":\"gpus\""));
}

TEST_F(CliQuotaTest, AdmitServiceAccountQuota) {
  // The ci service account runs 3 nodes; its hard quota allows 4 instances.
  CliResult fourth = Run({"admit", Example("quotas.textproto"), "--usage",
                          Example("quota_usage.jsonl"), "--principal",
                          "ci@org-123.serviceaccount.com", "--project",
                          "prod/ml-prod", "--type", "job"});
  EXPECT_EQ(fourth.exit_code, 0) << fourth.out;
  const std::string usage = absl::StrCat(dir_, "/more.jsonl");
  WriteFileOrDie(
      usage,
      R"({"node_started": {"cloud": "prod", "creator": "sa_ci", "count": 4}})"
      "\n");
  CliResult fifth = Run({"admit", Example("quotas.textproto"), "--usage", usage,
                         "--principal", "sa_ci", "--project", "prod/ml-prod",
                         "--type", "job"});
  EXPECT_EQ(fifth.exit_code, 1);
  EXPECT_THAT(fifth.out, StartsWith("BLOCK (QUOTA)\n"));
  EXPECT_THAT(fifth.out, HasSubstr("quota=rsq_ci (hard) instances usage=4 "
                                   "requested=1 limit=4"));
}

TEST_F(CliQuotaTest, InputErrorsExitTwo) {
  CliResult unknown =
      Run({"admit", Example("quotas.textproto"), "--principal", "dave@acme.com",
           "--project", "nope/ml-prod", "--type", "job"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown cloud \"nope\""));

  const std::string bad = absl::StrCat(dir_, "/bad.jsonl");
  WriteFileOrDie(
      bad,
      "{\"node_started\": {\"cloud\": \"prod\", \"creator\": "
      "\"dave@acme.com\"}}\n"
      "\n"
      "{\"node_started\": {\"cloud\": \"prod\" \"creator\": \"x\"}}\n");
  CliResult syntax =
      Run({"quota", "check", Example("quotas.textproto"), "--usage", bad,
           "--node", "prod", "--creator", "dave@acme.com"});
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_THAT(syntax.err, HasSubstr(absl::StrCat(bad, ":3:")));

  WriteFileOrDie(bad,
                 "{\"node_stopped\": {\"cloud\": \"prod\", \"creator\": "
                 "\"dave@acme.com\", \"cpus\": 1}}\n");
  CliResult stop =
      Run({"quota", "check", Example("quotas.textproto"), "--usage", bad,
           "--node", "prod", "--creator", "dave@acme.com"});
  EXPECT_EQ(stop.exit_code, 2);
  EXPECT_THAT(stop.err,
              HasSubstr(absl::StrCat(bad, ":1: no such running node")));

  WriteFileOrDie(bad,
                 "{\"node_started\": {\"cloud\": \"prod\", \"creator\": "
                 "\"dave@acme.com\", \"cpus\": 1, \"cpus\": 2}}\n");
  CliResult duplicate =
      Run({"quota", "check", Example("quotas.textproto"), "--usage", bad,
           "--node", "prod", "--creator", "dave@acme.com"});
  EXPECT_EQ(duplicate.exit_code, 2);
  EXPECT_THAT(duplicate.err, HasSubstr("duplicate key"));

  CliResult flag = Run({"quota", "check", "--demo", "--node", "prod",
                        "--creator", "dave@acme.com", "--cpus", "-1"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_THAT(flag.err, HasSubstr("--cpus: expected a non-negative integer"));

  CliResult sub = Run({"quota", "show", "--demo"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_THAT(sub.err, HasSubstr("unknown subcommand \"show\""));

  CliResult wrong = Run({"quota", "list", "--demo", "--creator", "x"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("--creator belongs to 'quota check'"));
}

TEST_F(CliQuotaTest, HelpDescribesExitCodes) {
  CliResult quota = Run({"quota", "--help"});
  EXPECT_EQ(quota.exit_code, 0);
  EXPECT_THAT(quota.out, HasSubstr("arbiter quota list"));
  EXPECT_THAT(quota.out, HasSubstr("Exits 0 when admitted, 1 when blocked, 2"));
  CliResult admit = Run({"admit", "--help"});
  EXPECT_EQ(admit.exit_code, 0);
  EXPECT_THAT(admit.out, HasSubstr("--principal"));
  CliResult main_help = Run({"--help"});
  EXPECT_THAT(main_help.out, HasSubstr("quota "));
  EXPECT_THAT(main_help.out, HasSubstr("admit "));
}

}  // namespace
}  // namespace arbiter
