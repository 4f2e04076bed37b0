// Names and renderings of the public IAM-mapping types (arbiter/iam_mapping.h).

#include <iterator>

#include "absl/strings/str_cat.h"
#include "arbiter/iam_mapping.h"

namespace arbiter {
namespace {

constexpr absl::string_view kOutcomeNames[] = {"MAPPED", "CLOUD_DEFAULT",
                                               "FAIL"};
static_assert(std::size(kOutcomeNames) ==
                  static_cast<size_t>(IamOutcome::kFail) + 1,
              "kOutcomeNames must list every IamOutcome");

constexpr absl::string_view kReasonNames[] = {
    "RULE_MATCHED",          "COMPUTE_CONFIG_OVERRIDE",
    "NO_RULE_MATCHED",       "UNKNOWN_CLOUD",
    "UNKNOWN_PROJECT",       "UNKNOWN_COMPUTE_CONFIG",
    "INVALID_WORKLOAD_TYPE", "INVALID_USER",
    "UNKNOWN_PRINCIPAL",     "PRINCIPAL_DELETED",
    "PRINCIPAL_INVITED",     "CROSS_ORG",
    "INTERNAL_ERROR",
};
static_assert(std::size(kReasonNames) ==
                  static_cast<size_t>(IamReason::kInternalError) + 1,
              "kReasonNames must list every IamReason");

}  // namespace

absl::string_view IamOutcomeName(IamOutcome outcome) {
  const size_t i = static_cast<size_t>(outcome);
  return i < std::size(kOutcomeNames) ? kOutcomeNames[i] : "FAIL";
}

absl::string_view IamReasonName(IamReason reason) {
  const size_t i = static_cast<size_t>(reason);
  return i < std::size(kReasonNames) ? kReasonNames[i] : "INTERNAL_ERROR";
}

absl::string_view WorkloadTypeLabel(v1::WorkloadType type) {
  switch (type) {
    case v1::WORKLOAD_TYPE_JOB:
      return "job";
    case v1::WORKLOAD_TYPE_SERVICE:
      return "service";
    case v1::WORKLOAD_TYPE_WORKSPACE:
      return "workspace";
    case v1::WORKLOAD_TYPE_CLUSTER:
      return "cluster";
    default:
      return "";
  }
}

bool ParseWorkloadTypeLabel(absl::string_view label, v1::WorkloadType* type) {
  for (v1::WorkloadType t :
       {v1::WORKLOAD_TYPE_JOB, v1::WORKLOAD_TYPE_SERVICE,
        v1::WORKLOAD_TYPE_WORKSPACE, v1::WORKLOAD_TYPE_CLUSTER}) {
    if (WorkloadTypeLabel(t) == label) {
      *type = t;
      return true;
    }
  }
  return false;
}

bool operator==(const IamDecision& a, const IamDecision& b) {
  return a.outcome == b.outcome && a.reason == b.reason &&
         a.identity == b.identity && a.rule_index == b.rule_index &&
         a.revision == b.revision;
}

std::ostream& operator<<(std::ostream& os, const IamDecision& d) {
  os << IamOutcomeName(d.outcome);
  if (!d.identity.empty()) os << " " << d.identity;
  os << " " << IamReasonName(d.reason);
  if (d.rule_index >= 0) os << " rule=" << d.rule_index;
  return os << " revision=" << d.revision;
}

std::string IamExplanation::ToString() const {
  std::string out = absl::StrCat(IamOutcomeName(decision.outcome));
  if (!decision.identity.empty()) absl::StrAppend(&out, " ", decision.identity);
  absl::StrAppend(&out, " (", IamReasonName(decision.reason));
  if (decision.rule_index >= 0) {
    absl::StrAppend(&out, ", rule ", decision.rule_index);
  }
  absl::StrAppend(&out, ", revision ", decision.revision, ")\n");
  absl::StrAppend(&out,
                  "  workload: ", workload_type.empty() ? "?" : workload_type);
  if (!cloud_id.empty()) absl::StrAppend(&out, " in cloud ", cloud_id);
  if (!project_name.empty()) absl::StrAppend(&out, ", project ", project_name);
  if (!user.empty()) absl::StrAppend(&out, ", user ", user);
  if (!compute_config_id.empty()) {
    absl::StrAppend(&out, ", compute config ", compute_config_id);
    if (!compute_config_identity.empty()) {
      absl::StrAppend(&out, " (iam_identity ", compute_config_identity, ")");
    }
  }
  out += "\n";
  for (const IamRuleTrace& t : rules) {
    absl::StrAppend(&out, "  rule ", t.rule_index, ": [",
                    t.selector.empty() ? "<empty: matches all>" : t.selector,
                    "] -> ", t.identity, ": ");
    if (t.matched) {
      out += "matches\n";
    } else {
      absl::StrAppend(&out, "no, ", t.failed_requirement, "\n");
    }
  }
  switch (decision.reason) {
    case IamReason::kUnknownPrincipal:
      out +=
          "  no principal has this email (see "
          "EngineOptions::iam_match_unknown_users)\n";
      break;
    case IamReason::kPrincipalDeleted:
      out += "  the user is a deleted principal of the cloud's organization\n";
      break;
    case IamReason::kPrincipalInvited:
      out += "  the user is an invited principal who has not joined\n";
      break;
    case IamReason::kCrossOrg:
      out += "  the user is a principal of another organization\n";
      break;
    default:
      break;
  }
  if (decision.reason == IamReason::kComputeConfigOverride) {
    absl::StrAppend(&out, "  the compute config's iam_identity ",
                    decision.identity, " decides\n");
  } else if (decision.reason == IamReason::kNoRuleMatched) {
    absl::StrAppend(
        &out, "  no rule matched: default behavior ",
        decision.outcome == IamOutcome::kFail ? "FAIL" : "CLOUD_DEFAULT", "\n");
  }
  return out;
}

}  // namespace arbiter
