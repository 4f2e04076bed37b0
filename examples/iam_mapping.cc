// Cloud IAM mapping on the demo organization: which cloud identity does a
// workload get when it starts?
//
// The demo's cloud "prod" holds the rules of access-model.md §6.6:
//   0. workload-type=job                      -> etl-role
//   1. project=ml-prod                        -> ml-role
//   2. user=ci@org-123.serviceaccount.com     -> ci-role
//   no match: CLOUD_DEFAULT (cld_prod-cluster_node_role)
// and cloud "research" uses `~=` and `notin`, with default FAIL.
//
//   ./build/examples/iam_mapping

#include "arbiter/iam_mapping.h"

#include <iostream>
#include <memory>
#include <string>

#include "arbiter/demo.h"
#include "arbiter/engine.h"

namespace {

struct Launch {
  const char* cloud;
  arbiter::v1::WorkloadType type;
  const char* project;  // "" = the cloud's default project
  const char* user;     // an email or a principal id
  const char* compute_config;
  const char* why;
};

void Print(const arbiter::Engine& engine, const Launch& l) {
  arbiter::WorkloadAttributes w;
  w.cloud = l.cloud;
  w.type = l.type;
  w.project = l.project;
  w.user = l.user;
  w.compute_config = l.compute_config;
  const arbiter::IamDecision d = engine.ResolveIam(w);
  std::cout << arbiter::WorkloadTypeLabel(l.type) << " in " << l.cloud << "/"
            << (*l.project == '\0' ? "(default)" : l.project) << " by "
            << l.user;
  if (*l.compute_config != '\0') std::cout << " with " << l.compute_config;
  std::cout << "\n  -> " << d << "\n     (" << l.why << ")\n";
}

}  // namespace

int main() {
  using arbiter::v1::WORKLOAD_TYPE_CLUSTER;
  using arbiter::v1::WORKLOAD_TYPE_JOB;
  using arbiter::v1::WORKLOAD_TYPE_SERVICE;
  using arbiter::v1::WORKLOAD_TYPE_WORKSPACE;

  absl::StatusOr<std::unique_ptr<const arbiter::Engine>> engine =
      arbiter::Engine::Create(arbiter::DemoPolicySet());
  if (!engine.ok()) {
    std::cerr << "compile failed: " << engine.status() << "\n";
    return 1;
  }

  std::cout << "== The worked example of access-model.md §6.6 (cloud prod)\n";
  const Launch worked[] = {
      {"prod", WORKLOAD_TYPE_JOB, "ml-prod", "dave@acme.com", "",
       "rule 0 comes before rule 1"},
      {"prod", WORKLOAD_TYPE_WORKSPACE, "ml-prod", "dave@acme.com", "",
       "rule 1"},
      {"prod", WORKLOAD_TYPE_SERVICE, "web", "sa_ci", "",
       "rule 2; a principal id stands for its email"},
      {"prod", WORKLOAD_TYPE_WORKSPACE, "web", "alice@acme.com", "",
       "no rule: the cloud's default identity"},
      {"prod", WORKLOAD_TYPE_CLUSTER, "", "CI@org-123.serviceaccount.com", "",
       "emails ignore case; a plain cluster is not a job"},
  };
  for (const Launch& l : worked) Print(**engine, l);

  std::cout << "\n== Cloud research: patterns, notin and default FAIL\n";
  const Launch research[] = {
      {"research", WORKLOAD_TYPE_JOB, "ml-research", "grace@acme.com", "",
       "project=ml-research,user~=.*@acme\\.com"},
      {"research", WORKLOAD_TYPE_WORKSPACE, "", "grace@acme.com", "",
       "workload-type in (workspace),user notin (mallory@acme.com)"},
      {"research", WORKLOAD_TYPE_WORKSPACE, "", "mallory@acme.com", "",
       "no rule matches and the default is FAIL: do not launch"},
      {"research", WORKLOAD_TYPE_JOB, "nope", "grace@acme.com", "",
       "unknown project: FAIL"},
  };
  for (const Launch& l : research) Print(**engine, l);

  std::cout << "\n== Why? ExplainIam names the first failing requirement\n";
  arbiter::WorkloadAttributes w;
  w.cloud = "prod";
  w.type = WORKLOAD_TYPE_SERVICE;
  w.project = "web";
  w.user = "ci@org-123.serviceaccount.com";
  std::cout << (*engine)->ExplainIam(w).ToString();

  // A compute config may carry its own IAM identity. Under the default
  // kMappingWins it only replaces the cloud default: a matching rule and a
  // FAIL default stand. Under kComputeConfigWins it replaces the mapping.
  std::cout << "\n== A compute config with an IAM identity\n";
  arbiter::v1::PolicySet state = arbiter::DemoPolicySet();
  for (arbiter::v1::ComputeConfig& cc : *state.mutable_compute_configs()) {
    if (cc.id() == "cc_cpu_small") cc.set_iam_identity("cpu-small-role");
  }
  for (auto precedence : {arbiter::IamOverridePrecedence::kMappingWins,
                          arbiter::IamOverridePrecedence::kComputeConfigWins}) {
    arbiter::EngineOptions options;
    options.iam_override_precedence = precedence;
    absl::StatusOr<std::unique_ptr<const arbiter::Engine>> with_cc =
        arbiter::Engine::Create(state, options);
    if (!with_cc.ok()) {
      std::cerr << "compile failed: " << with_cc.status() << "\n";
      return 1;
    }
    std::cout << (precedence == arbiter::IamOverridePrecedence::kMappingWins
                      ? "-- kMappingWins (default)\n"
                      : "-- kComputeConfigWins\n");
    Print(**with_cc, {"prod", WORKLOAD_TYPE_JOB, "web", "alice@acme.com",
                      "cpu-small", "rule 0 matches"});
    Print(**with_cc, {"prod", WORKLOAD_TYPE_WORKSPACE, "web", "alice@acme.com",
                      "cc_cpu_small", "no rule matches"});
  }

  // Mistakes are caught when the state is compiled, with the field path.
  std::cout << "\n== Validation\n";
  arbiter::v1::PolicySet bad = arbiter::DemoPolicySet();
  arbiter::v1::IamMapping* mapping =
      bad.mutable_clouds(0)->mutable_iam_mapping();
  mapping->mutable_rules(1)->set_selector("project=ml-prod,team=ml");
  mapping->mutable_rules(2)->set_identity(
      "arn:aws:iam::123456789012:role/ci-role");
  for (const absl::Status& problem : arbiter::Engine::Validate(bad)) {
    std::cout << problem.message() << "\n";
  }
  return 0;
}
