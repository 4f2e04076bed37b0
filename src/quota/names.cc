// Names and renderings of the quota types.

#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/quota.h"

namespace arbiter {

absl::string_view QuotaOutcomeName(QuotaOutcome outcome) {
  switch (outcome) {
    case QuotaOutcome::kAdmit:
      return "ADMIT";
    case QuotaOutcome::kAdmitWithAlert:
      return "ADMIT_WITH_ALERT";
    case QuotaOutcome::kBlock:
      return "BLOCK";
  }
  return "BLOCK";
}

absl::string_view QuotaReasonName(QuotaReason reason) {
  switch (reason) {
    case QuotaReason::kWithinQuota:
      return "WITHIN_QUOTA";
    case QuotaReason::kSoftQuotaExceeded:
      return "SOFT_QUOTA_EXCEEDED";
    case QuotaReason::kHardQuotaExceeded:
      return "HARD_QUOTA_EXCEEDED";
    case QuotaReason::kUnknownCloud:
      return "UNKNOWN_CLOUD";
    case QuotaReason::kUnknownProject:
      return "UNKNOWN_PROJECT";
    case QuotaReason::kProjectNotInCloud:
      return "PROJECT_NOT_IN_CLOUD";
    case QuotaReason::kUnknownCreator:
      return "UNKNOWN_CREATOR";
    case QuotaReason::kCreatorNotInOrg:
      return "CREATOR_NOT_IN_ORG";
    case QuotaReason::kInvalidNode:
      return "INVALID_NODE";
    case QuotaReason::kTooManyReservations:
      return "TOO_MANY_RESERVATIONS";
    case QuotaReason::kInternalError:
      return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

absl::string_view QuotaDimensionName(QuotaDimension dimension) {
  switch (dimension) {
    case QuotaDimension::kCpus:
      return "cpus";
    case QuotaDimension::kGpus:
      return "gpus";
    case QuotaDimension::kInstances:
      return "instances";
    case QuotaDimension::kAccelerators:
      return "accelerators";
  }
  return "cpus";
}

namespace {

std::string BreachToString(const QuotaBreach& b) {
  std::string dimension(QuotaDimensionName(b.dimension));
  if (b.dimension == QuotaDimension::kAccelerators) {
    absl::StrAppend(&dimension, "[", b.accelerator_type, "]");
  }
  return absl::StrCat("quota=", b.quota_id, b.hard ? " (hard) " : " (soft) ",
                      dimension, " usage=", b.usage, " requested=", b.requested,
                      " limit=", b.limit);
}

}  // namespace

std::string NodeAdmissionToString(const NodeAdmission& a) {
  std::string out =
      absl::StrCat(QuotaOutcomeName(a.outcome), " ", QuotaReasonName(a.reason));
  for (int i = 0; i < a.num_breaches; ++i) {
    absl::StrAppend(&out, i == 0 ? " " : "; ", BreachToString(a.breaches[i]));
  }
  if (a.num_breaches == 0 && a.reason == QuotaReason::kWithinQuota) {
    absl::StrAppend(&out, " quotas=", a.num_applicable);
  }
  if (a.reservation != 0) absl::StrAppend(&out, " reservation=", a.reservation);
  return out;
}

}  // namespace arbiter
