// Validation of audit records: what AuditLog::Append accepts, and the
// well-formedness checks the verifiers share.
//
// Internal: not installed.

#ifndef ARBITER_SRC_AUDIT_RECORD_CHECK_H_
#define ARBITER_SRC_AUDIT_RECORD_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "arbiter/v1/audit.pb.h"

namespace arbiter {
namespace internal {

// An action or entity name: [A-Z][A-Z0-9_]*, at most 64 bytes.
bool IsAuditName(absl::string_view name);

// Why `org_id` cannot name an export directory ("" when it can): 1..128
// printable ASCII bytes, no '/', '\\' or space, not starting with '.'.
std::string CheckAuditOrgId(absl::string_view org_id);

// Why `timestamp` is not in §9's format "YYYY-MM-DD HH:MM:SS.ffffff+00:00"
// ("" when it is).
std::string CheckAuditTimestamp(absl::string_view timestamp);

// What Append accepts from a caller: valid names, org id and timestamp (an
// empty timestamp is allowed: the log fills it in), UTF-8 strings, metadata
// values all set, numbers finite, nesting at most kAuditMaxMetadataDepth, a
// refusal with a code, and no sequence, hash, prev_hash or checkpoint (the
// log sets them). InvalidArgument "<path>.<field>: <problem>".
absl::Status CheckAppendableAuditRecord(const v1::AuditRecord& record,
                                        absl::string_view path);

// Why a record read back (from a store or an export) is malformed, apart
// from its chain ("" when it is not): the checks above but with sequence,
// hashes and checkpoint as the log writes them (sequence >= 1, 32-byte
// hashes, CHECKPOINT entity and action if and only if a checkpoint, a
// well-formed signature and key id, export_time > 0 if and only if an export
// checkpoint).
std::string CheckStoredAuditRecord(const v1::AuditRecord& record);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_AUDIT_RECORD_CHECK_H_
