// File: arbiter/iam_mapping.h
//
// Cloud IAM mapping: when a workload starts, the control plane attaches a
// cloud identity to it (an AWS role or instance-profile name, a GCP
// service-account email, a Kubernetes service account). Each cloud holds an
// ordered list of rules (selector -> identity); the first rule whose selector
// matches the workload wins. When none matches, the cloud's default behaviour
// applies: its default identity (CLOUD_DEFAULT) or refusing the launch (FAIL).
// The rules live in v1::Cloud::iam_mapping and are compiled with the rest of
// the state by Engine::Create; Engine::ResolveIam answers.
//
// Selectors use Kubernetes label-selector syntax over three keys:
//   workload-type  job | service | workspace. A plain cluster has no
//                  workload type: every workload-type requirement (even
//                  `!=`, `notin` and `!workload-type`) is false for it.
//   project        the project's name within the workload's cloud, exact
//                  and case-sensitive; a workload without a project counts as
//                  the cloud's default project
//   user           the launching principal's email, case-insensitive; the
//                  principal must be an active member of the cloud's
//                  organization, or the launch is FAIL
// Requirements: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; commas AND
// them; the empty selector matches everything. Values hold ASCII letters,
// digits and @ . + - _. Arbiter adds k~=PATTERN, a full-match RE2 pattern
// (user patterns ignore case), e.g. `user~=.*@ml\.example\.com`. The full
// grammar and every decision are in docs/iam-mapping.md.
//
// Example:
//
//   arbiter::WorkloadAttributes w;
//   w.cloud = "prod";
//   w.type = arbiter::v1::WORKLOAD_TYPE_JOB;
//   w.project = "ml-prod";
//   w.user = "alice@example.com";
//   arbiter::IamDecision d = engine->ResolveIam(w);
//   if (d.outcome == arbiter::IamOutcome::kFail) { /* refuse the launch */ }
//   attach(d.identity);

#ifndef ARBITER_IAM_MAPPING_H_
#define ARBITER_IAM_MAPPING_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "arbiter/v1/resource.pb.h"

namespace arbiter {

enum class IamOutcome : uint8_t {
  // An identity other than the cloud default was chosen: a rule's identity
  // (IamReason::kRuleMatched) or a compute config's override
  // (IamReason::kComputeConfigOverride).
  kMapped,
  // No rule matched and the cloud's default behaviour is CLOUD_DEFAULT: the
  // identity is the cloud's default_identity. It is empty when the state does
  // not record one; the platform's own default then applies.
  kCloudDefault,
  // The workload must not start. The identity is empty.
  kFail,
};

// "MAPPED", "CLOUD_DEFAULT", "FAIL".
absl::string_view IamOutcomeName(IamOutcome outcome);

// Why a resolution came out the way it did. Every reason but the first three
// comes with IamOutcome::kFail.
enum class IamReason : uint8_t {
  kRuleMatched,            // kMapped; rule_index is the rule
  kComputeConfigOverride,  // kMapped; see
                           // EngineOptions::iam_override_precedence
  kNoRuleMatched,          // kCloudDefault, or kFail when the default is FAIL
  kUnknownCloud,           // no such cloud (in `org`)
  kUnknownProject,         // no such project in the workload's cloud
  kUnknownComputeConfig,   // no such compute config in the workload's cloud
  kInvalidWorkloadType,    // WORKLOAD_TYPE_UNSPECIFIED or out of range
  // `user` is empty, or is neither a principal id nor a well-formed email.
  kInvalidUser,
  // A well-formed email that no principal of the snapshot holds (unless
  // EngineOptions::iam_match_unknown_users).
  kUnknownPrincipal,
  // The user is a deleted principal of the cloud's organization: by id, or
  // by an email that no live principal of the organization holds.
  kPrincipalDeleted,
  // The user is an invited principal of the cloud's organization who has
  // not joined.
  kPrincipalInvited,
  // The user is the id of another organization's principal, or an email
  // that only other organizations' principals hold: rules never map across
  // tenants.
  kCrossOrg,
  kInternalError,  // fail closed: the engine could not evaluate
};

// "RULE_MATCHED", "NO_RULE_MATCHED", "UNKNOWN_CLOUD", ...
absl::string_view IamReasonName(IamReason reason);

// "job", "service", "workspace", "cluster"; "" for anything else.
absl::string_view WorkloadTypeLabel(v1::WorkloadType type);
// The inverse of WorkloadTypeLabel. Returns false for an unknown label.
bool ParseWorkloadTypeLabel(absl::string_view label, v1::WorkloadType* type);

// The workload being launched. Views must outlive the call.
struct WorkloadAttributes {
  // Cloud id, or cloud name within `org` (or, if `org` is empty, within the
  // snapshot's only organization).
  absl::string_view cloud;
  // Organization id or name; optional.
  absl::string_view org;
  v1::WorkloadType type = v1::WORKLOAD_TYPE_UNSPECIFIED;
  // The id of a project of the cloud, or a project name within the cloud;
  // empty means the cloud's default project.
  absl::string_view project;
  // The launching principal: an email (any case) or a principal id, whose
  // email is then used. It must be an active principal of the cloud's
  // organization; otherwise the result is kFail (kUnknownPrincipal,
  // kPrincipalDeleted, kPrincipalInvited, kCrossOrg or kInvalidUser). With
  // EngineOptions::iam_match_unknown_users, an email that no principal of the
  // snapshot holds is matched as given.
  absl::string_view user;
  // Optional compute config (id, or name within the cloud) whose
  // iam_identity may override the mapping.
  absl::string_view compute_config;
};

// The result of Engine::ResolveIam: a small value; Resolve never allocates
// one on the heap.
struct IamDecision {
  IamOutcome outcome = IamOutcome::kFail;
  IamReason reason = IamReason::kInternalError;
  // The identity to attach; empty on kFail. Points into the Engine that
  // resolved it: valid as long as that Engine is alive.
  absl::string_view identity;
  // Index of the matching rule in the cloud's list, or -1.
  int rule_index = -1;
  // PolicySet::revision of the snapshot that resolved.
  uint64_t revision = 0;
};

// Equal when every field matches (identity compared by value).
bool operator==(const IamDecision& a, const IamDecision& b);
inline bool operator!=(const IamDecision& a, const IamDecision& b) {
  return !(a == b);
}

// "MAPPED etl-role RULE_MATCHED rule=0 revision=1".
std::ostream& operator<<(std::ostream& os, const IamDecision& decision);

struct IamRuleTrace {
  int rule_index = 0;
  std::string selector;
  std::string identity;
  bool matched = false;
  // For a rule that did not match: the first requirement that did not hold,
  // as written in the selector, and the workload's value for its key
  // ("project=ml-prod: project is web").
  std::string failed_requirement;
};

// Engine::ExplainIam's answer. Its decision always equals ResolveIam's.
struct IamExplanation {
  IamDecision decision;
  // The resolved workload (fields stay empty when resolution stopped before
  // reaching them).
  std::string cloud_id;
  std::string project_name;   // after the default-project fallback
  std::string user;           // the email, lower-cased
  std::string workload_type;  // WorkloadTypeLabel
  std::string compute_config_id;
  std::string compute_config_identity;  // its iam_identity, if any
  // Every rule of the cloud in order, up to and including the first that
  // matches. Filled whenever the workload was resolved, also when a compute
  // config's identity overrides the mapping (the trace then shows what the
  // mapping alone would choose).
  std::vector<IamRuleTrace> rules;

  // A multi-line rendering for terminals.
  std::string ToString() const;
};

}  // namespace arbiter

#endif  // ARBITER_IAM_MAPPING_H_
