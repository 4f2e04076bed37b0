// Validation of quotas and budgets: ValidateQuotas (whole state),
// ValidateQuotaChange / ValidateBudgetChange (one candidate), and
// QuotaBook::Create. Each rule asserts its status code and field path.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "arbiter/quota.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::quota_testing::AddBudget;
using ::arbiter::quota_testing::AddQuota;
using ::arbiter::quota_testing::BaseState;
using ::arbiter::quota_testing::Parse;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// The single problem of `state`.
absl::Status OnlyProblem(const v1::PolicySet& state) {
  std::vector<absl::Status> problems = ValidateQuotas(state);
  EXPECT_THAT(problems, SizeIs(1));
  return problems.empty() ? absl::OkStatus() : problems.front();
}

TEST(QuotaValidationTest, ValidStateHasNoProblems) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits {
                      num_cpus: 10
                      num_accelerators { key: "A100-80G" value: 0 }
                    })pb");
  AddQuota(&s, R"pb(id: "rsq_2"
                    cloud_id: "cld_a"
                    project_id: "prj_a1"
                    user_id: "usr_1")pb");
  AddQuota(&s, R"pb(id: "rsq_3" cloud_id: "cld_a" user_id: "sa_ci")pb");
  AddBudget(&s, R"pb(id: "bud_1"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 100
                     thresholds_percent: [ 50, 100 ]
                     recipients: "fin@acme.com")pb");
  AddBudget(&s, R"pb(id: "bud_2"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 5)pb");
  AddBudget(&s, R"pb(id: "bud_3"
                     cloud_id: "cld_a"
                     project_id: "prj_a1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 5)pb");
  EXPECT_THAT(ValidateQuotas(s), IsEmpty());
  EXPECT_THAT(QuotaBook::Create(s), IsOk());
}

TEST(QuotaValidationTest, CloudIsRequired) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" project_id: "prj_a1")pb");
  std::vector<absl::Status> problems = ValidateQuotas(s);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0],
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("quotas[0].cloud_id: missing cloud_id")));
}

TEST(QuotaValidationTest, UnknownReferencesAreNotFound) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_9")pb");
  AddQuota(&s, R"pb(id: "rsq_2" cloud_id: "cld_a" project_id: "prj_9")pb");
  AddQuota(&s, R"pb(id: "rsq_3" cloud_id: "cld_a" user_id: "usr_9")pb");
  EXPECT_THAT(
      ValidateQuotas(s),
      ElementsAre(StatusIs(absl::StatusCode::kNotFound,
                           "quotas[0].cloud_id: unknown cloud \"cld_9\""),
                  StatusIs(absl::StatusCode::kNotFound,
                           "quotas[1].project_id: unknown project \"prj_9\""),
                  StatusIs(absl::StatusCode::kNotFound,
                           "quotas[2].user_id: unknown user \"usr_9\"")));
}

TEST(QuotaValidationTest, ProjectMustBelongToTheCloud) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_a" project_id: "prj_b1")pb");
  EXPECT_THAT(OnlyProblem(s),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("quotas[0].project_id: project \"prj_b1\" "
                                 "belongs to cloud \"cld_b\", not \"cld_a\"")));
}

TEST(QuotaValidationTest, UserMustBelongToTheCloudsOrganization) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_a" user_id: "usr_x")pb");
  EXPECT_THAT(OnlyProblem(s),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("quotas[0].user_id: user \"usr_x\" belongs to "
                                 "organization \"org_2\"")));
}

TEST(QuotaValidationTest, LimitsMustNotBeNegative) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    limits {
                      num_cpus: -1
                      num_gpus: 0
                      num_instances: -2
                      num_accelerators { key: "T4" value: -3 }
                    })pb");
  EXPECT_THAT(
      ValidateQuotas(s),
      ElementsAre(
          StatusIs(absl::StatusCode::kInvalidArgument,
                   HasSubstr("quotas[0].limits.num_cpus: negative limit -1")),
          StatusIs(
              absl::StatusCode::kInvalidArgument,
              HasSubstr("quotas[0].limits.num_instances: negative limit -2")),
          StatusIs(absl::StatusCode::kInvalidArgument,
                   HasSubstr("quotas[0].limits.num_accelerators[\"T4\"]: "
                             "negative limit -3"))));
}

TEST(QuotaValidationTest, AcceleratorNamesAreChecked) {
  v1::PolicySet s = BaseState();
  AddQuota(&s,
           R"pb(id: "rsq_1"
                cloud_id: "cld_a"
                limits { num_accelerators { key: "A100 80G" value: 1 } })pb");
  EXPECT_THAT(
      OnlyProblem(s),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("quotas[0].limits.num_accelerators[\"A100 80G\"]: "
                         "invalid accelerator type")));
  v1::PolicySet t = BaseState();
  AddQuota(&t, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    limits {
                      num_accelerators { key: "a10g" value: 1 }
                      num_accelerators { key: "A10G" value: 2 }
                    })pb");
  EXPECT_THAT(OnlyProblem(t),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("accelerator type \"a10g\" is \"A10G\"")));
}

TEST(QuotaValidationTest, IdFormatAndUniqueness) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "bad id" cloud_id: "cld_a")pb");
  EXPECT_THAT(OnlyProblem(s), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("quotas[0].id: invalid id")));
  v1::PolicySet t = BaseState();
  AddQuota(&t, R"pb(id: "rsq_1" cloud_id: "cld_a")pb");
  AddQuota(&t, R"pb(id: "rsq_1" cloud_id: "cld_b")pb");
  EXPECT_THAT(
      OnlyProblem(t),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "quotas[1].id: duplicate id \"rsq_1\" (also quotas[0])"));
  v1::PolicySet u = BaseState();
  AddQuota(&u, R"pb(id: "prj_a1" cloud_id: "cld_a")pb");
  EXPECT_THAT(
      OnlyProblem(u),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "quotas[0].id: duplicate id \"prj_a1\" (also projects[1])"));
  v1::PolicySet v = BaseState();
  AddQuota(&v, R"pb(id: "x_1" cloud_id: "cld_a")pb");
  AddBudget(&v, R"pb(id: "x_1"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(v),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "budgets[0].id: duplicate id \"x_1\" (also quotas[0])"));
}

// §7.2: one quota per (cloud, project, user); ALL counts as a value [I].
TEST(QuotaValidationTest, OneLiveQuotaPerScope) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_a" user_id: "usr_1")pb");
  AddQuota(
      &s,
      R"pb(id: "rsq_2" cloud_id: "cld_a" user_id: "usr_1" enabled: true)pb");
  EXPECT_THAT(OnlyProblem(s),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("quotas[1]: a quota for (cloud \"cld_a\", "
                                 "project ALL, user \"usr_1\") already exists: "
                                 "quotas[0] (\"rsq_1\")")));
  // Different shapes of the same cloud do not conflict.
  v1::PolicySet t = BaseState();
  AddQuota(&t, R"pb(id: "rsq_1" cloud_id: "cld_a")pb");
  AddQuota(&t, R"pb(id: "rsq_2" cloud_id: "cld_a" user_id: "usr_1")pb");
  AddQuota(&t, R"pb(id: "rsq_3" cloud_id: "cld_a" project_id: "prj_a1")pb");
  AddQuota(&t, R"pb(id: "rsq_4"
                    cloud_id: "cld_a"
                    project_id: "prj_a1"
                    user_id: "usr_1")pb");
  EXPECT_THAT(ValidateQuotas(t), IsEmpty());
}

// A deleted quota is history: a new one may take its scope, and its dangling
// references do not matter.
TEST(QuotaValidationTest, DeletedQuotasDoNotConflict) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_old"
                    cloud_id: "cld_a"
                    user_id: "usr_1"
                    deleted_at { seconds: 1 })pb");
  AddQuota(&s, R"pb(id: "rsq_new" cloud_id: "cld_a" user_id: "usr_1")pb");
  AddQuota(&s, R"pb(id: "rsq_gone"
                    cloud_id: "cld_removed"
                    deleted_at { seconds: 2 })pb");
  EXPECT_THAT(ValidateQuotas(s), IsEmpty());
}

TEST(QuotaValidationTest, BudgetScopes) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "b1"
                     project_id: "prj_a1"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("budgets[0].cloud_id: missing cloud_id: a "
                                 "project budget needs the project's cloud")));
  v1::PolicySet t = BaseState();
  AddBudget(&t,
            R"pb(id: "b1" period: BUDGET_PERIOD_DAILY amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(t),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("budgets[0].org_id: missing")));
  v1::PolicySet u = BaseState();
  AddBudget(&u, R"pb(id: "b1"
                     org_id: "org_2"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(u),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("budgets[0].org_id: cloud \"cld_a\" belongs "
                                 "to organization \"org_1\"")));
  v1::PolicySet v = BaseState();
  AddBudget(&v, R"pb(id: "b1"
                     cloud_id: "cld_a"
                     project_id: "prj_b1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(v), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("budgets[0].project_id")));
  v1::PolicySet w = BaseState();
  AddBudget(&w, R"pb(id: "b1"
                     cloud_id: "cld_9"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(OnlyProblem(w),
              StatusIs(absl::StatusCode::kNotFound,
                       "budgets[0].cloud_id: unknown cloud \"cld_9\""));
}

TEST(QuotaValidationTest, BudgetFields) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "b1"
                     org_id: "org_1"
                     amount_credits: 0
                     thresholds_percent: [ 50, -1, 50 ]
                     recipients: "a b")pb");
  EXPECT_THAT(
      ValidateQuotas(s),
      ElementsAre(
          StatusIs(absl::StatusCode::kInvalidArgument,
                   HasSubstr("budgets[0].period")),
          StatusIs(
              absl::StatusCode::kInvalidArgument,
              HasSubstr(
                  "budgets[0].amount_credits: amount must be more than 0")),
          StatusIs(
              absl::StatusCode::kInvalidArgument,
              HasSubstr("budgets[0].thresholds_percent[1]: threshold must be")),
          StatusIs(absl::StatusCode::kInvalidArgument,
                   HasSubstr("budgets[0].thresholds_percent[2]: threshold 50% "
                             "given twice")),
          StatusIs(absl::StatusCode::kInvalidArgument,
                   HasSubstr("budgets[0].recipients[0]: invalid recipient"))));
}

// §8.1: at most one daily and one monthly budget per (cloud, project).
TEST(QuotaValidationTest, OneDailyAndOneMonthlyBudgetPerScope) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "b1"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  AddBudget(&s, R"pb(id: "b2"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 1)pb");
  AddBudget(&s, R"pb(id: "b3"
                     cloud_id: "cld_a"
                     project_id: "prj_a1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  AddBudget(&s, R"pb(id: "b4"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  AddBudget(&s, R"pb(id: "b5"
                     org_id: "org_2"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  EXPECT_THAT(ValidateQuotas(s), IsEmpty());
  AddBudget(&s, R"pb(id: "b6"
                     org_id: "org_1"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 2)pb");
  EXPECT_THAT(
      OnlyProblem(s),
      StatusIs(absl::StatusCode::kAlreadyExists,
               HasSubstr("budgets[5]: a daily budget for (cloud \"cld_a\", "
                         "project ALL) already exists: budgets[0] (\"b1\")")));
}

TEST(QuotaValidationTest, BookCreateReportsTheFirstProblemAndTheCount) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_9")pb");
  AddQuota(&s, R"pb(id: "rsq_2" cloud_id: "cld_8")pb");
  EXPECT_THAT(
      QuotaBook::Create(s),
      StatusIs(
          absl::StatusCode::kNotFound,
          "quotas[0].cloud_id: unknown cloud \"cld_9\" (and 1 more problem)"));
}

// ---- Candidate checks for the admin layer ----

TEST(QuotaChangeTest, NewQuotaConflictsAndReferences) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1" cloud_id: "cld_a" project_id: "prj_a1")pb");
  EXPECT_THAT(
      ValidateQuotaChange(
          s, -1, Parse<v1::ResourceQuota>(R"pb(id: "rsq_2"
                                               cloud_id: "cld_a"
                                               project_id: "prj_a1")pb")),
      StatusIs(absl::StatusCode::kAlreadyExists,
               HasSubstr("quotas[1]: a quota for (cloud \"cld_a\", project "
                         "\"prj_a1\", user ALL) already exists")));
  EXPECT_THAT(ValidateQuotaChange(
                  s, -1, Parse<v1::ResourceQuota>(R"pb(id: "rsq_1"
                                                       cloud_id: "cld_b")pb")),
              StatusIs(
                  absl::StatusCode::kAlreadyExists,
                  "quotas[1].id: duplicate id \"rsq_1\" (also quotas[0])"));
  EXPECT_THAT(ValidateQuotaChange(
                  s, -1, Parse<v1::ResourceQuota>(R"pb(id: "rsq_2"
                                                       cloud_id: "cld_9")pb")),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("quotas[1].cloud_id")));
  EXPECT_THAT(
      ValidateQuotaChange(
          s, -1, Parse<v1::ResourceQuota>(R"pb(id: "rsq_2"
                                               cloud_id: "cld_a"
                                               user_id: "usr_del")pb")),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               "quotas[1].user_id: user \"usr_del\" is deleted"));
  EXPECT_THAT(
      ValidateQuotaChange(
          s, -1, Parse<v1::ResourceQuota>(R"pb(id: "rsq_2"
                                               cloud_id: "cld_a"
                                               project_id: "prj_a2")pb")),
      IsOk());
}

TEST(QuotaChangeTest, ModifyEnableDisableDelete) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    user_id: "usr_del"
                    enabled: true)pb");
  AddQuota(&s, R"pb(id: "rsq_2" cloud_id: "cld_a" enabled: true)pb");
  // Disabling a quota of a user deleted since is allowed (the user did not
  // change).
  v1::ResourceQuota disabled = s.quotas(0);
  disabled.set_enabled(false);
  EXPECT_THAT(ValidateQuotaChange(s, 0, disabled), IsOk());
  // A modification keeps its own scope without conflicting with itself.
  v1::ResourceQuota edited = s.quotas(1);
  edited.mutable_limits()->set_num_cpus(5);
  EXPECT_THAT(ValidateQuotaChange(s, 1, edited), IsOk());
  // ... but may not move onto another live quota's scope.
  edited.set_user_id("usr_1");
  edited.set_id("rsq_2");
  v1::PolicySet t = s;
  AddQuota(&t, R"pb(id: "rsq_3" cloud_id: "cld_a" user_id: "usr_1")pb");
  EXPECT_THAT(
      ValidateQuotaChange(t, 1, edited),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("quotas[2]")));
  // Ids never change.
  v1::ResourceQuota renamed = s.quotas(1);
  renamed.set_id("rsq_9");
  EXPECT_THAT(
      ValidateQuotaChange(s, 1, renamed),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("quotas[1].id: the id of a quota cannot change")));
  // Soft delete, then nothing more.
  v1::ResourceQuota deleted = s.quotas(1);
  deleted.mutable_deleted_at()->set_seconds(100);
  EXPECT_THAT(ValidateQuotaChange(s, 1, deleted), IsOk());
  *s.mutable_quotas(1) = deleted;
  v1::ResourceQuota revived = deleted;
  revived.clear_deleted_at();
  EXPECT_THAT(ValidateQuotaChange(s, 1, revived),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is deleted and cannot change")));
  EXPECT_THAT(ValidateQuotaChange(s, 7, revived),
              StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

TEST(BudgetChangeTest, NewBudgetConflicts) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "b1"
                     cloud_id: "cld_a"
                     project_id: "prj_a1"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 10)pb");
  EXPECT_THAT(
      ValidateBudgetChange(s, -1,
                           Parse<v1::Budget>(R"pb(id: "b2"
                                                  cloud_id: "cld_a"
                                                  project_id: "prj_a1"
                                                  period: BUDGET_PERIOD_MONTHLY
                                                  amount_credits: 5)pb")),
      StatusIs(absl::StatusCode::kAlreadyExists,
               HasSubstr("budgets[1]: a monthly budget for (cloud \"cld_a\", "
                         "project \"prj_a1\") already exists")));
  EXPECT_THAT(ValidateBudgetChange(
                  s, -1, Parse<v1::Budget>(R"pb(id: "b2"
                                                cloud_id: "cld_a"
                                                project_id: "prj_a1"
                                                period: BUDGET_PERIOD_DAILY
                                                amount_credits: 5)pb")),
              IsOk());
  v1::Budget edited = s.budgets(0);
  edited.set_amount_credits(-1);
  EXPECT_THAT(ValidateBudgetChange(s, 0, edited),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("budgets[0].amount_credits")));
}

}  // namespace
}  // namespace arbiter
