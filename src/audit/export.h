// Writing an organization's export files (AuditLog::Export) and the shared
// verification walk (VerifyAuditChain, VerifyAuditExport).
//
// Internal: not installed.

#ifndef ARBITER_SRC_AUDIT_EXPORT_H_
#define ARBITER_SRC_AUDIT_EXPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "arbiter/audit.h"

namespace arbiter {
namespace internal {

// "<org_id>/audit_logs/<entity lower case>/<export_time>.log.jsonl".
std::string AuditExportPath(absl::string_view org_id, absl::string_view entity,
                            int64_t export_time);

// Writes `records` (one organization's, in sequence order, ending with the
// export checkpoint) under `dir`, one file per entity, each through a
// temporary file that is synced and then linked into place (an existing
// file is never replaced: AlreadyExists). Returns the paths written; on
// failure removes what it wrote.
absl::StatusOr<std::vector<std::string>> WriteAuditExportFiles(
    const std::string& dir, absl::string_view org_id, int64_t export_time,
    absl::Span<const v1::AuditRecord* const> records);

// Removes files written by WriteAuditExportFiles (best effort).
void RemoveAuditExportFiles(const std::vector<std::string>& paths);

// The chain of one organization, checked record by record.
struct AuditChainState {
  uint64_t sequence = 0;
  std::string hash;  // the previous record's; genesis when empty
  bool seen_signed = false;
  bool last_was_checkpoint = false;
};

// Checks `record` as the next record of `state`'s chain (well formed, next
// sequence, linked, hash, signature); on success advances `state` and
// counts it in `v`, else returns what is wrong.
std::string CheckNextAuditRecord(const v1::AuditRecord& record,
                                 const AuditVerifyOptions& options,
                                 AuditChainState* state, AuditVerification* v);

// Sets v->signatures from the counts and keys.
void FinishAuditVerification(const AuditVerifyOptions& options,
                             AuditVerification* v);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_AUDIT_EXPORT_H_
