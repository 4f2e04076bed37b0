// A SQLite VFS shim that injects faults, the way leveldb's
// fault_injection_test wraps its Env: it wraps SQLite's default VFS (unix),
// passes every call through, and on request
//   - fails writes that need space with SQLITE_FULL (ENOSPC): a disk with a
//     given number of free bytes;
//   - fails xSync with SQLITE_IOERR_FSYNC (EIO);
//   - fails reads with SQLITE_IOERR_READ (EIO);
//   - behaves as a read-only file system (EROFS): creating a file fails,
//     opening one for writing opens it read-only, as on a real one;
//   - "loses power" after N more writes/syncs: every later write, sync,
//     truncate and delete fails and reaches nothing, and
//     DropUnsyncedData() then rolls every file back to what its last
//     successful xSync made durable (optionally keeping a random subset of
//     the unsynced writes: torn, out-of-order persistence).
// Every method is thread-safe. The VFS is registered once per name and
// lives until the process exits.

#ifndef ARBITER_TESTS_STORE_FAULT_INJECTION_VFS_H_
#define ARBITER_TESTS_STORE_FAULT_INJECTION_VFS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3_vfs;
struct sqlite3_file;

namespace arbiter {
namespace store {
namespace testing {

class FaultInjectionVfs {
 public:
  enum class FileKind { kAny, kMainDb, kWal };

  // The VFS registered under `name` (registered on first use, not as the
  // default VFS). Pass name() as DurableLogOptions::sqlite_vfs_for_test.
  static FaultInjectionVfs* Get(const std::string& name = "arbiter_fault");
  const std::string& name() const { return name_; }

  // Clears every fault, the crash state, the undo logs and the counters.
  void Reset();

  // Free space: writes that grow files consume it; when a write needs more
  // than is left it fails with SQLITE_FULL. -1: unlimited.
  void SetFreeBytes(int64_t bytes);
  // Every write fails with SQLITE_FULL, even in place (a file system with
  // no free block for copy-on-write, or a quota).
  void SetAllWritesFull(bool full);
  // The next `count` xSync calls (after `after` successful ones) fail with
  // SQLITE_IOERR_FSYNC; count -1: every one from then on.
  void FailSyncs(int64_t after, int64_t count);
  // Reads of `kind` files fail with SQLITE_IOERR_READ after `after`
  // successful ones, `count` times (-1: always).
  void FailReads(FileKind kind, int64_t after, int64_t count);
  // A read-only file system (EROFS).
  void SetReadOnly(bool read_only);
  // After `ops` more writes, syncs and truncates the machine is off: that
  // operation and every later write, sync, truncate and delete fail with
  // SQLITE_IOERR (EIO) and change nothing. -1: never.
  void CrashAfterOps(int64_t ops);
  bool crashed() const;

  // Rolls every tracked file back to its content at its last successful
  // xSync; with keep_probability > 0, then re-applies each unsynced write
  // (in order) with that probability. Call with no connection of this VFS
  // open. Clears the crash state and the undo logs.
  void DropUnsyncedData(double keep_probability = 0, uint64_t seed = 0);
  // Forgets the undo logs (their writes count as durable from now on).
  void ForgetUnsynced();

  int64_t writes() const;
  int64_t syncs() const;
  int64_t unsynced_writes() const;

  // ---- Called by the shim's C callbacks ----
  struct Undo {
    bool truncate = false;
    int64_t offset = 0;    // write: where; truncate: the new size
    std::string new_data;  // write: the bytes written
    std::string old_data;  // the bytes overwritten (or cut off)
    int64_t old_size = 0;  // the file's size before
  };
  enum class Op { kWrite, kSync, kTruncate, kRead, kDelete, kOpenCreate };
  // Decides whether `op` on `kind` fails; returns the SQLite error and sets
  // *err_no, or 0 to proceed.
  int Decide(Op op, FileKind kind, int64_t grow_bytes, int* err_no);
  void RecordUndo(const std::string& path, Undo undo);
  void Synced(const std::string& path);
  void Deleted(const std::string& path);
  bool read_only() const;

 private:
  explicit FaultInjectionVfs(std::string name);
  std::string name_;
  sqlite3_vfs* vfs_ = nullptr;

  mutable std::mutex mu_;
  int64_t free_bytes_ = -1;
  bool all_writes_full_ = false;
  int64_t sync_fail_after_ = -1, sync_fail_count_ = 0;
  FileKind read_fail_kind_ = FileKind::kAny;
  int64_t read_fail_after_ = -1, read_fail_count_ = 0;
  bool read_only_ = false;
  int64_t crash_after_ = -1;
  bool crashed_ = false;
  int64_t writes_ = 0, syncs_ = 0;
  std::map<std::string, std::vector<Undo>> undo_;
};

}  // namespace testing
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_TESTS_STORE_FAULT_INJECTION_VFS_H_
