#include "src/compiler/grant_rules.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/decision.h"
#include "src/internal/names.h"
#include "src/internal/time_util.h"
#include "src/snapshot/records.h"

namespace arbiter {
namespace internal {
namespace {

// google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

const char* ScopeName(uint8_t level) {
  return level == kOrgLevel     ? "org"
         : level == kCloudLevel ? "cloud"
                                : "project";
}

}  // namespace

absl::optional<GrantProblem> CheckRolePlacement(const v1::Role& role,
                                                uint8_t level,
                                                v1::SubjectKind subject_kind,
                                                absl::string_view subject) {
  const v1::ScopeType scope_type =
      static_cast<v1::ScopeType>(level + v1::SCOPE_TYPE_ORG);
  if (std::find(role.grantable_at().begin(), role.grantable_at().end(),
                scope_type) == role.grantable_at().end()) {
    std::vector<std::string> where;
    for (int st : role.grantable_at()) {
      where.push_back(ScopeName(static_cast<uint8_t>(st - v1::SCOPE_TYPE_ORG)));
    }
    return GrantProblem{
        "role", where.empty()
                    ? absl::StrCat("role ", Quote(role.name()),
                                   " is implied only and cannot be granted")
                    : absl::StrCat("role ", Quote(role.name()),
                                   " cannot be granted at the ",
                                   ScopeName(level), " scope (grantable at: ",
                                   absl::StrJoin(where, ", "), ")")};
  }
  if (role.subject_kinds_size() > 0 &&
      std::find(role.subject_kinds().begin(), role.subject_kinds().end(),
                subject_kind) == role.subject_kinds().end()) {
    return GrantProblem{"subject",
                        absl::StrCat("role ", Quote(role.name()),
                                     " cannot be granted to ", subject)};
  }
  return absl::nullopt;
}

absl::optional<GrantProblem> CheckSource(v1::GrantSource source,
                                         bool group_subject, uint8_t level,
                                         bool is_auto_add_role,
                                         absl::string_view auto_add_role,
                                         uint8_t* stored) {
  const uint8_t plain = static_cast<uint8_t>(
      group_subject ? GrantSource::kGroup : GrantSource::kDirect);
  switch (source) {
    case v1::GRANT_SOURCE_UNSPECIFIED:
      *stored = plain;
      return absl::nullopt;
    case v1::GRANT_SOURCE_DIRECT:
    case v1::GRANT_SOURCE_GROUP:
      if ((source == v1::GRANT_SOURCE_GROUP) != group_subject) {
        return GrantProblem{"source",
                            group_subject
                                ? "a group grant has source GRANT_SOURCE_GROUP"
                                : "GRANT_SOURCE_GROUP needs a group subject"};
      }
      *stored = plain;
      return absl::nullopt;
    case v1::GRANT_SOURCE_AUTO_ADD:
      if (group_subject || level != kCloudLevel || !is_auto_add_role) {
        return GrantProblem{"source",
                            absl::StrCat("an auto-add grant gives a principal ",
                                         Quote(auto_add_role), " on a cloud")};
      }
      *stored = static_cast<uint8_t>(GrantSource::kAutoAdd);
      return absl::nullopt;
    default:
      return GrantProblem{"source", "unknown grant source"};
  }
}

absl::optional<GrantProblem> CheckExpiry(const v1::Grant& grant,
                                         int64_t* nanos) {
  *nanos = kNever;
  if (!grant.has_expires_at()) return absl::nullopt;
  const int64_t sec = grant.expires_at().seconds();
  const int32_t ns = grant.expires_at().nanos();
  if (sec < kMinTimestampSeconds || sec > kMaxTimestampSeconds || ns < 0 ||
      ns > 999999999) {
    return GrantProblem{"expires_at",
                        absl::StrCat("timestamp out of range (seconds ", sec,
                                     ", nanos ", ns, ")")};
  }
  *nanos = ExpiryNanos(sec, ns);
  return absl::nullopt;
}

}  // namespace internal
}  // namespace arbiter
