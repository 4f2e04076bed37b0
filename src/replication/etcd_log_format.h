// File: src/replication/etcd_log_format.h
//
// The key layout and value formats of EtcdLog (described in etcd_log.h),
// shared by the writer (etcd_log.cc) and the follower (etcd_follower.cc).
// Private to src/replication.

#ifndef ARBITER_SRC_REPLICATION_ETCD_LOG_FORMAT_H_
#define ARBITER_SRC_REPLICATION_ETCD_LOG_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter_etcd/log_record.pb.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_log.h"

namespace arbiter {
namespace replication {
namespace log_format {

// "/a/b" -> "/a/b/"; InvalidArgument unless it starts with '/'.
absl::StatusOr<std::string> NormalizePrefix(absl::string_view prefix);
absl::Status CheckOptions(const EtcdLogOptions& options);

// 20 digits, so that key order is numeric order.
std::string Pad20(uint64_t n);

inline std::string HeadKey(absl::string_view p) {
  return std::string(p) + "head";
}
inline std::string CheckpointKey(absl::string_view p) {
  return std::string(p) + "checkpoint";
}
inline std::string LogDir(absl::string_view p) {
  return std::string(p) + "log/";
}
inline std::string LogKey(absl::string_view p, uint64_t revision) {
  return LogDir(p) + Pad20(revision);
}
inline std::string LogChunkDir(absl::string_view p) {
  return std::string(p) + "chunks/log/";
}
inline std::string CheckpointChunkDir(absl::string_view p) {
  return std::string(p) + "chunks/checkpoint/";
}
// dir + "<20-digit revision>-<hex writer id>/".
std::string BlobPrefix(absl::string_view dir, uint64_t revision,
                       absl::string_view writer_id);
std::string ChunkKey(absl::string_view blob_prefix, uint64_t index);

// 16 random bytes.
std::string NewWriterId();

// The head's value: absent = 0. DataLoss naming the key when malformed.
absl::StatusOr<uint64_t> ParseHead(absl::string_view prefix,
                                   const std::vector<EtcdKeyValue>& kvs);
// The revision in a P log/<20 digits> key; DataLoss otherwise.
absl::StatusOr<uint64_t> ParseLogKey(absl::string_view prefix,
                                     absl::string_view key);

absl::StatusOr<etcd::LogRecord> ParseLogRecord(absl::string_view prefix,
                                               const EtcdKeyValue& kv);
absl::StatusOr<etcd::CheckpointRecord> ParseCheckpointRecord(
    absl::string_view prefix, const EtcdKeyValue& kv);

// Writes `data` as chunk keys under blob_prefix, one Put each, retrying
// transport failures until `deadline` (a chunk Put is idempotent: new key,
// fixed value).
absl::StatusOr<etcd::ChunkedBlob> WriteBlob(EtcdClient& client,
                                            const std::string& blob_prefix,
                                            absl::string_view data,
                                            size_t chunk_bytes,
                                            absl::Time deadline);

// The transaction compares proving the blob still exists (its first and last
// chunk; blobs are only ever deleted whole).
std::vector<EtcdCompare> BlobGuards(const etcd::ChunkedBlob& blob);

// Reads a blob as of `etcd_revision`, `page_chunks` chunks per request, and
// checks it is complete (DataLoss naming `what` otherwise). OutOfRange
// (IsEtcdCompacted) when that revision was compacted.
absl::StatusOr<std::string> ReadBlob(EtcdClient& client,
                                     const etcd::ChunkedBlob& blob,
                                     int64_t etcd_revision, int64_t page_chunks,
                                     absl::string_view what);

// Deletes a blob, ignoring failures (an orphan is removed by the next
// checkpoint's truncation).
void DeleteBlobBestEffort(EtcdClient& client, const std::string& blob_prefix);

// "etcd log /p/: " for messages.
std::string Where(absl::string_view prefix);

}  // namespace log_format
}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_LOG_FORMAT_H_
