// Private to arbiter_store: DIR/LOCK, which keeps a second writer out and
// remembers the last durably committed revision (the witness).
//
// The lock is an flock(LOCK_EX | LOCK_NB) on DIR/LOCK, held for the life of
// the writable DurableLog: released by the kernel when the process dies
// (kill -9 included), never stale. flock rather than fcntl (POSIX) locks,
// which belong to the process and vanish when any descriptor of the file is
// closed, and rather than SQLite's locking_mode=EXCLUSIVE, which would keep
// readers out too. Not for NFS.
//
// The record: one text line in the first 256 bytes, rewritten in place
// (pwrite at offset 0, never fsynced) after every durable commit:
//
//   arbiter-store-lock v1 pid=123 store=<32 hex> revision=42 head=<64 hex>
//   sync=full check=<16 hex>
//
// `revision` and `head` name the last revision the writer had committed and
// synced, and its hash. Written only after SQLite's fsync returned, so no
// crash can leave it ahead of the database; Open refuses a database that
// ends before it (a truncated or deleted WAL, a lost tail of rows). A
// record that is absent, torn or fails its check (`check`: the first 8
// bytes of a domain-separated SHA-256 of the text before it) is ignored:
// the witness is an extra defence, not a source of truth.

#ifndef ARBITER_SRC_STORE_LOCK_FILE_H_
#define ARBITER_SRC_STORE_LOCK_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace arbiter {
namespace store {
namespace internal {

using OsFaultHook =
    std::function<int(absl::string_view operation, const std::string& path)>;

// Returns the errno `hook` injects for `operation` on `path` (0: none).
int InjectedErrno(const OsFaultHook& hook, absl::string_view operation,
                  const std::string& path);

struct LockRecord {
  int64_t pid = 0;
  std::string store_id_hex;  // 32 hex digits
  uint64_t revision = 0;
  std::string head_hex;  // 64 hex digits
  bool synced = true;    // false: written by a SyncMode::kNormal writer
};

class LockFile {
 public:
  // Opens (creating) `path` and takes the lock without waiting.
  // FailedPrecondition naming the recorded pid when another open file
  // description holds it (another process, or another DurableLog of this
  // one); PermissionDenied / Unavailable when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<LockFile>> Acquire(
      const std::string& path, const OsFaultHook& hook);
  ~LockFile();  // closes the descriptor, which releases the lock
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  // Rewrites the record in place. Not synced (see above).
  absl::Status Write(const LockRecord& record);

  // Parses the record of `path`; nullopt when the file is missing, empty,
  // torn, or fails its check.
  static absl::optional<LockRecord> Read(const std::string& path);

  static std::string Format(const LockRecord& record);
  static absl::optional<LockRecord> Parse(absl::string_view text);

 private:
  LockFile(int fd, std::string path, OsFaultHook hook)
      : fd_(fd), path_(std::move(path)), hook_(std::move(hook)) {}
  int fd_;
  std::string path_;
  OsFaultHook hook_;
};

}  // namespace internal
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_LOCK_FILE_H_
