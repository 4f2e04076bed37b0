// File: arbiter/iam_mapping.h
//
// Cloud IAM mapping: when a workload starts, the control plane attaches a
// cloud identity to it. Each cloud holds an ordered list of rules
// (selector -> identity); the first rule whose selector matches the workload
// wins. When none matches, the cloud's default behaviour applies: its default
// identity (CLOUD_DEFAULT) or refusing the launch (FAIL).
//
// Selectors use Kubernetes label-selector syntax over three keys:
//   workload-type  job | service | workspace (a plain cluster never matches)
//   project        the project's name within the workload's cloud; a workload
//                  without a project counts as the cloud's default project
//   user           the launching principal's email, compared case-insensitively
// Requirements: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; commas AND
// them; the empty selector matches everything. Arbiter adds k~=PATTERN, a
// full-match RE2 pattern (e.g. user~=.*@ml\.example\.com).
//
// Example:
//
//   arbiter::WorkloadAttributes w;
//   w.cloud = "prod-cloud";
//   w.type = arbiter::v1::WORKLOAD_TYPE_JOB;
//   w.project = "ml-prod";
//   w.user = "alice@example.com";
//   arbiter::IamDecision d = engine->ResolveIam(w);
//   if (d.outcome == arbiter::IamOutcome::kFail) { /* refuse the launch */ }

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
  kMapped,        // a rule matched; identity is its value
  kCloudDefault,  // no rule matched; identity is the cloud's default
  kFail,          // the workload must not start
};

absl::string_view IamOutcomeName(IamOutcome outcome);

// Why a resolution came out the way it did.
enum class IamReason : uint8_t {
  kRuleMatched,
  kComputeConfigOverride,  // EngineOptions::iam_override_precedence
  kNoRuleMatched,          // default behaviour applied
  kUnknownCloud,
  kUnknownProject,
  kUnknownComputeConfig,
  kInvalidWorkloadType,  // WORKLOAD_TYPE_UNSPECIFIED
  kInternalError,
};

absl::string_view IamReasonName(IamReason reason);

// The workload being launched. Views must outlive the call.
struct WorkloadAttributes {
  // Cloud id or name (names are resolved within `org` or, if empty, the
  // snapshot's only organization).
  absl::string_view cloud;
  absl::string_view org;
  v1::WorkloadType type = v1::WORKLOAD_TYPE_UNSPECIFIED;
  // Project id or name within the cloud; empty means the default project.
  absl::string_view project;
  // The launching principal's email (or principal id).
  absl::string_view user;
  // Optional compute config id whose IAM identity may override the mapping.
  absl::string_view compute_config;
};

struct IamDecision {
  IamOutcome outcome = IamOutcome::kFail;
  IamReason reason = IamReason::kInternalError;
  // The identity to attach; empty on kFail. Points into the Engine.
  absl::string_view identity;
  // Index of the matching rule in the cloud's list, or -1.
  int rule_index = -1;
  uint64_t revision = 0;
};

std::ostream& operator<<(std::ostream& os, const IamDecision& decision);

struct IamRuleTrace {
  int rule_index = 0;
  std::string selector;
  std::string identity;
  bool matched = false;
  // For a rule that did not match: the first requirement that did not hold,
  // as written in the selector, and why ("project=ml-prod: project is web").
  std::string failed_requirement;
};

struct IamExplanation {
  IamDecision decision;
  std::string cloud_id;
  std::string project_name;  // after the default-project fallback
  std::string user;          // normalized
  std::string workload_type;
  // Every rule up to and including the matching one.
  std::vector<IamRuleTrace> rules;
  std::string ToString() const;
};

}  // namespace arbiter

#endif  // ARBITER_IAM_MAPPING_H_
