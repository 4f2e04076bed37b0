// The payloads the durable PolicyStore keeps in a DurableLog
// (docs/store.md, "Payloads"):
//
//   entry       a v1::LogRecord (arbiter/v1/log_record.proto): the
//               transaction's StateDelta (base_revision = revision - 1) and
//               its chained audit records; record.revision = the entry's.
//   checkpoint  the state and the whole audit history at a revision, in
//               protobuf wire format as if it were
//                 message PolicyCheckpoint {
//                   string format = 1;       // "arbiter.policy_checkpoint.v1"
//                   uint64 revision = 2;     // = the checkpoint's revision
//                   PolicySet state = 3;     // state.revision = revision
//                   repeated AuditRecord audit = 4;  // every chain, in order
//                 }
//               written field by field, so that a 30 MB state is encoded
//               without a second copy.
//
// And the recovery view: the latest checkpoint decoded, the entries after
// it decoded and checked, in one consistent read.

#ifndef ARBITER_SRC_STORE_POLICY_CODEC_H_
#define ARBITER_SRC_STORE_POLICY_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "arbiter/v1/audit.pb.h"
#include "arbiter/v1/log_record.pb.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/state_delta.pb.h"
#include "src/store/durable_log.h"

namespace arbiter {
namespace store {

inline constexpr char kCheckpointFormat[] = "arbiter.policy_checkpoint.v1";

// The checkpoint payload of `state` (at revision `revision`) and `audit`.
// Deterministic: equal inputs encode to equal bytes.
std::string EncodeCheckpoint(uint64_t revision, const v1::PolicySet& state,
                             absl::Span<const v1::AuditRecord> audit);

struct DecodedCheckpoint {
  uint64_t revision = 0;
  v1::PolicySet state;
  std::vector<v1::AuditRecord> audit;
};

// DataLoss naming `where` when the payload is not a checkpoint of this
// format at `revision` (malformed, another format, revisions that differ).
absl::StatusOr<DecodedCheckpoint> DecodeCheckpoint(absl::string_view payload,
                                                   uint64_t revision,
                                                   absl::string_view where);

// The LogRecord of `entry`: DataLoss naming `where` and the revision when
// it does not parse, or its revisions are not the entry's.
absl::StatusOr<v1::LogRecord> DecodeEntry(const LogEntry& entry,
                                          absl::string_view where);

// What recovery loads: the latest checkpoint (or the empty state when the
// log has none, which a store made by Create never is), then the entries
// after it, decoded.
struct RecoveryView {
  bool has_checkpoint = false;
  uint64_t checkpoint_revision = 0;
  v1::PolicySet state;                 // at checkpoint_revision
  std::vector<v1::AuditRecord> audit;  // the checkpoint's, then entries'
  std::vector<v1::StateDelta> deltas;  // of the entries after it
  uint64_t revision = 0;               // the last entry's (or checkpoint's)
  uint64_t entry_bytes = 0;            // payload bytes of those entries
};

// Reads the recovery view from `log` (retrying when a checkpoint written
// meanwhile, by another process, compacted the entries read from).
absl::StatusOr<RecoveryView> ReadRecoveryView(DurableLog& log);

// The state of `view` at its last revision: its deltas applied to its
// checkpoint state (PolicyStore::ReplayDeltas, as Recover applies them).
// DataLoss naming the delta when one does not apply.
absl::StatusOr<v1::PolicySet> ReplayState(RecoveryView view);

// The checkpoint payload of `view` at its last revision (ReplayState, then
// EncodeCheckpoint).
absl::StatusOr<std::string> ReplayAndEncode(RecoveryView view);

}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_POLICY_CODEC_H_
