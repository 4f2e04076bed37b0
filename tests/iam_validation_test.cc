// Compile-time validation of cloud IAM mappings: every error is an
// InvalidArgument that names the field path (cloud and rule index), the
// fault and the cloud.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/compiler/compiler.h"
#include "src/internal/diagnostics.h"
#include "src/iam/iam_mappings.h"
#include "tests/iam/iam_test_state.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IamTestState;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::SetIamRules;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using Rules = std::vector<std::pair<std::string, std::string>>;

absl::Status CreateWith(const Rules& rules, const EngineOptions& options = {}) {
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_b", rules);  // clouds[1]
  return Engine::Create(state, options).status();
}

struct ErrorCase {
  const char* name;
  Rules rules;
  const char* message;  // the whole message
};

class IamValidationTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(IamValidationTest, NamesCloudRuleAndFault) {
  const ErrorCase& c = GetParam();
  EXPECT_THAT(CreateWith(c.rules),
              StatusIs(absl::StatusCode::kInvalidArgument, c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, IamValidationTest,
    ::testing::Values(
        ErrorCase{"UnknownKey",
                  {{"project=web", "a"}, {"workload-type=job,team=ml", "b"}},
                  "clouds[1].iam_mapping.rules[1].selector: column 19: "
                  "unknown key \"team\" (expected workload-type, project or "
                  "user) in cloud \"cld_b\""},
        ErrorCase{"SyntaxError",
                  {{"project in (web", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 16: "
                  "missing ')' after the value list in cloud \"cld_b\""},
        ErrorCase{"InvalidValueCharacter",
                  {{"user=ci:bot@acme.com", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 8: invalid "
                  "character ':' in value \"ci\" (a value holds letters, "
                  "digits and @ . + - _) in cloud \"cld_b\""},
        ErrorCase{"UnknownWorkloadType",
                  {{"workload-type=cluster", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 15: "
                  "unknown workload type \"cluster\" (expected job, service "
                  "or workspace) in cloud \"cld_b\""},
        ErrorCase{"RoleArn",
                  {{"", "arn:aws:iam::123456789012:role/etl-role"}},
                  "clouds[1].iam_mapping.rules[0].identity: identity "
                  "\"arn:aws:iam::123456789012:role/etl-role\" is an ARN; "
                  "give the role or instance-profile name (\"etl-role\") in "
                  "cloud \"cld_b\""},
        ErrorCase{"InstanceProfileArnWithPath",
                  {{"", "ARN:aws:iam::1:instance-profile/team/ml-profile"}},
                  "clouds[1].iam_mapping.rules[0].identity: identity "
                  "\"ARN:aws:iam::1:instance-profile/team/ml-profile\" is an "
                  "ARN; give the role or instance-profile name "
                  "(\"ml-profile\") in cloud \"cld_b\""},
        ErrorCase{"MissingIdentity",
                  {{"project=web", ""}},
                  "clouds[1].iam_mapping.rules[0].identity: missing identity "
                  "in cloud \"cld_b\""},
        ErrorCase{"IdentityWithSpace",
                  {{"project=web", "etl role"}},
                  "clouds[1].iam_mapping.rules[0].identity: invalid identity "
                  "\"etl role\" (printable ASCII without spaces) in cloud "
                  "\"cld_b\""},
        ErrorCase{"InvalidPattern",
                  {{"user~=(a", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 7: invalid "
                  "pattern \"(a\": missing ): (a in cloud \"cld_b\""},
        ErrorCase{"InvalidUtf8Pattern",
                  {{"project~=caf\xc3", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 10: "
                  "invalid pattern \"caf\\xc3\": invalid UTF-8 in cloud "
                  "\"cld_b\""},
        ErrorCase{"PatternOverProgramSize",
                  {{"project~=(abc){400}", "a"}},
                  "clouds[1].iam_mapping.rules[0].selector: column 10: "
                  "pattern \"(abc){400}\" has program size 1204, over the "
                  "limit of 1000 (EngineOptions::max_regex_program_size) in "
                  "cloud \"cld_b\""}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(IamValidationTest, PatternOverMemoryLimit) {
  EngineOptions options;
  options.max_regex_memory = 2000;
  EXPECT_THAT(CreateWith({{"user~=a{100}b{100}", "a"}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "clouds[1].iam_mapping.rules[0].selector: column 7: "
                       "pattern \"a{100}b{100}\" exceeds the regex memory "
                       "limit of 2000 bytes (EngineOptions::max_regex_memory) "
                       "in cloud \"cld_b\""));
  options.max_regex_memory = 1 << 20;
  EXPECT_THAT(CreateWith({{"user~=a{100}b{100}", "a"}}, options), IsOk());
}

TEST(IamValidationTest, ProgramSizeLimitIsConfigurable) {
  EngineOptions options;
  options.max_regex_program_size = 2000;
  EXPECT_THAT(CreateWith({{"project~=(abc){400}", "a"}}, options), IsOk());
}

TEST(IamValidationTest, TooManyRules) {
  EngineOptions options;
  options.max_iam_rules_per_cloud = 2;
  EXPECT_THAT(CreateWith({{"", "a"}, {"", "b"}}, options), IsOk());
  EXPECT_THAT(CreateWith({{"", "a"}, {"", "b"}, {"", "c"}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "clouds[1].iam_mapping.rules: 3 rules exceed the limit "
                       "of 2 (EngineOptions::max_iam_rules_per_cloud) in cloud "
                       "\"cld_b\""));
}

TEST(IamValidationTest, SelectorTooLong) {
  EngineOptions options;
  options.max_selector_length = 11;
  EXPECT_THAT(CreateWith({{"project=web", "a"}}, options), IsOk());
  EXPECT_THAT(CreateWith({{"project=webs", "a"}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "clouds[1].iam_mapping.rules[0].selector: selector of "
                       "12 bytes exceeds the limit of 11 "
                       "(EngineOptions::max_selector_length) in cloud "
                       "\"cld_b\""));
}

TEST(IamValidationTest, DefaultIdentityMustNotBeAnArn) {
  v1::PolicySet state = IamTestState();
  state.mutable_clouds(0)->mutable_iam_mapping()->set_default_identity(
      "arn:aws:iam::123456789012:role/cld_a-cluster_node_role");
  EXPECT_THAT(
      Engine::Create(state).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "clouds[0].iam_mapping.default_identity: identity "
               "\"arn:aws:iam::123456789012:role/cld_a-cluster_node_"
               "role\" is an ARN; give the role or instance-profile "
               "name (\"cld_a-cluster_node_role\") in cloud \"cld_a\""));
}

TEST(IamValidationTest, ComputeConfigIdentityMustNotBeAnArn) {
  v1::PolicySet state = IamTestState();
  state.mutable_compute_configs(1)->set_iam_identity(
      "arn:aws:iam::123456789012:role/gpu-role");
  EXPECT_THAT(Engine::Create(state).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "compute_configs[1].iam_identity: identity "
                       "\"arn:aws:iam::123456789012:role/gpu-role\" is an "
                       "ARN; give the role or instance-profile name "
                       "(\"gpu-role\") in compute config \"cc_gpu\""));
}

TEST(IamValidationTest, UnknownDefaultBehavior) {
  v1::PolicySet state = IamTestState();
  state.mutable_clouds(1)->mutable_iam_mapping()->set_default_behavior(
      static_cast<v1::IamMapping::DefaultBehavior>(7));
  EXPECT_THAT(Engine::Create(state).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "clouds[1].iam_mapping.default_behavior: unknown "
                       "default behavior 7 in cloud \"cld_b\""));
}

TEST(IamValidationTest, RulesNamingUnknownProjectsOrUsersAreValid) {
  // Projects and users come and go; a rule naming one that does not exist
  // (yet) is not an error, it just never matches.
  EXPECT_THAT(CreateWith({{"project=not-yet", "a"},
                          {"user in (nobody@nowhere.org)", "b"}}),
              IsOk());
}

TEST(IamValidationTest, ValidateListsEveryProblem) {
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_a",
              {{"team=ml", "a"}, {"project=web", "arn:aws:iam::1:role/x"}});
  SetIamRules(&state, "cld_b", {{"user~=[", "c"}, {"project=web", "ok"}});
  std::vector<absl::Status> errors = Engine::Validate(state);
  ASSERT_THAT(errors, SizeIs(3));
  EXPECT_THAT(errors[0].message(),
              HasSubstr("clouds[0].iam_mapping.rules[0].selector: column 1: "
                        "unknown key \"team\""));
  EXPECT_THAT(errors[1].message(),
              HasSubstr("clouds[0].iam_mapping.rules[1].identity: identity "
                        "\"arn:aws:iam::1:role/x\" is an ARN"));
  EXPECT_THAT(errors[2].message(),
              HasSubstr("clouds[1].iam_mapping.rules[0].selector: column 7: "
                        "invalid pattern \"[\""));
  EXPECT_THAT(Engine::Create(state).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(and 2 more problems)")));
}

TEST(IamValidationTest, RulesOnACloudThatDoesNotExist) {
  // The compiler stops before the IAM step when a cloud is broken, so this
  // is reachable only through the internal API: rules for a cloud absent
  // from the compiled state.
  const v1::PolicySet state = IamTestState();
  internal::Diagnostics diag(10);
  std::unique_ptr<internal::Snapshot> compiled =
      internal::Compile(state, EngineOptions(), diag);
  ASSERT_NE(compiled, nullptr) << diag.ToStatus();
  v1::PolicySet with_ghost = state;
  v1::Cloud* ghost = with_ghost.add_clouds();
  ghost->set_id("cld_ghost");
  ghost->set_org_id("org_acme");
  ghost->set_name("ghost");
  ghost->mutable_iam_mapping()->add_rules()->set_identity("r");
  internal::Diagnostics iam_diag(10);
  EXPECT_EQ(internal::IamMappings::Compile(with_ghost, *compiled, iam_diag),
            nullptr);
  EXPECT_THAT(iam_diag.errors(),
              ElementsAre(StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  "clouds[2].iam_mapping: rules on cloud \"cld_ghost\", "
                  "which does not exist in the compiled state")));
}

}  // namespace
}  // namespace arbiter
