// Private to arbiter_store: DurableLog's implementation state, shared by
// durable_log.cc (open, group commit), durable_log_checkpoint.cc
// (checkpoints, compaction) and durable_log_verify.cc (reading and
// verification).

#ifndef ARBITER_SRC_STORE_DURABLE_LOG_INTERNAL_H_
#define ARBITER_SRC_STORE_DURABLE_LOG_INTERNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "src/store/durable_log.h"
#include "src/store/lock_file.h"
#include "src/store/record_hash.h"
#include "src/store/schema.h"
#include "src/store/sqlite_util.h"

namespace arbiter {
namespace store {

struct DurableLog::AppendHandle::Pending {
  LogEntry entry;
  // Guarded by Impl::mu.
  absl::Status status;
  bool done = false;
  bool waiting = false;  // a thread is in Wait() on it
  // Signalled when it is done, or when it may lead the next group commit:
  // one waiter is woken at a time, never the whole queue.
  std::condition_variable cv;
};

namespace internal {

// One row of table checkpoints.
struct CheckpointMeta {
  int64_t id = 0;
  uint64_t revision = 0;
  int64_t state = 0;
  Digest chain_head{};
  uint64_t chunk_count = 0;
  uint64_t total_bytes = 0;
  bool has_record = false;  // last_chunk_hash and record_hash present
  Digest last_chunk_hash{};
  Digest record_hash{};
};

// What verification learned about a snapshot of the log.
struct LogShape {
  StoreInfo info;
  absl::optional<CheckpointMeta> checkpoint;  // the latest complete one
  uint64_t entry_count = 0;
  uint64_t first_entry = 0;  // 0 when entry_count == 0
  uint64_t last_entry = 0;
  uint64_t last_revision = 0;  // max(base, checkpoint, last entry)
  Digest last_hash{};          // the chain head at last_revision
  bool has_garbage = false;    // incomplete or obsolete checkpoints
};

enum class VerifyLevel { kRecoveryView, kFull };

// Verifies a snapshot (the caller holds a read transaction on `conn`) per
// `level` and returns its shape; DataLoss naming the problem otherwise.
absl::StatusOr<LogShape> VerifyLog(Connection& conn, VerifyLevel level);

// Every row of table checkpoints, each checked for well-formedness (and a
// complete one against its record hash); DataLoss otherwise.
absl::StatusOr<std::vector<CheckpointMeta>> ReadCheckpointMetas(
    Connection& conn, const StoreInfo& info);

// The latest complete checkpoint among `metas` (DataLoss if several).
absl::StatusOr<absl::optional<CheckpointMeta>> LatestComplete(
    const std::string& path, const std::vector<CheckpointMeta>& metas);

// Reads a complete checkpoint's chunks in order, verifying each against the
// chunk chain and the record; appends the payload to `out` (null: verify
// only).
absl::Status ReadCheckpointPayload(Connection& conn, const StoreInfo& info,
                                   const CheckpointMeta& meta,
                                   std::string* out);

// Visits entries with revision > `after` in order, starting the chain at
// `prev` (the chain head at `after`). Each must be the next revision and
// match its hash. Stops after `last` when last != 0. `visit` may be empty.
absl::Status VisitEntries(
    Connection& conn, uint64_t after, const Digest& prev, uint64_t last,
    const std::function<absl::Status(const LogEntry&)>& visit,
    Digest* last_hash);

// The stored hash of entry `revision`, if that row exists.
absl::StatusOr<absl::optional<Digest>> StoredEntryHash(Connection& conn,
                                                       uint64_t revision);

}  // namespace internal

struct DurableLog::Impl {
  using Pending = AppendHandle::Pending;

  std::string dir;
  std::string db_path;
  std::string lock_path;
  Options options;
  bool immutable = false;  // read-only medium: SQLite's immutable=1
  std::unique_ptr<internal::LockFile> lock;

  // ---- The writer connection, guarded by write_mu ----
  std::mutex write_mu;
  std::unique_ptr<internal::Connection> writer;
  std::unique_ptr<internal::Statement> insert_entry;
  std::unique_ptr<internal::Statement> begin_immediate;
  std::unique_ptr<internal::Statement> commit;
  internal::StoreInfo info;      // base fields change with a base checkpoint
  internal::Digest head_hash{};  // chain head at last_revision
  // Append leaders waiting for write_mu; checkpoint chunks give way to them.
  std::atomic<int> leaders_waiting{0};

  // ---- Group commit, guarded by mu ----
  std::mutex mu;
  std::deque<std::shared_ptr<Pending>> queue;
  uint64_t next_revision = 1;  // the revision the next Enqueue must carry
  bool leader_active = false;
  absl::Status failed;  // sticky, after an ambiguous commit failure
  std::atomic<uint64_t> last_revision{0};

  // ---- Checkpoints: one WriteCheckpoint (or cleanup) at a time ----
  std::mutex checkpoint_mu;

  // ---- Read connections, one per concurrent reader ----
  std::mutex pool_mu;
  std::vector<std::unique_ptr<internal::Connection>> idle_readers;

  // ---- Background WAL checkpointer (writable logs) ----
  std::thread wal_thread;
  std::mutex wal_mu;
  std::condition_variable wal_cv;
  bool wal_requested = false;  // guarded by wal_mu
  bool wal_stopping = false;   // guarded by wal_mu
  std::mutex wal_conn_mu;      // one WAL checkpoint at a time on wal_conn
  std::unique_ptr<internal::Connection> wal_conn;
  std::atomic<int> wal_frames{0};  // the WAL's size in pages, last commit

  // ---- Counters ----
  std::atomic<uint64_t> group_commits{0};
  std::atomic<uint64_t> entries_committed{0};
  std::atomic<uint64_t> largest_group{0};
  std::atomic<uint64_t> checkpoints_written{0};
  std::atomic<uint64_t> wal_checkpoints{0};
  std::atomic<uint64_t> wal_checkpoint_errors{0};

  ~Impl();

  // Group commit.
  absl::Status WaitFor(const std::shared_ptr<Pending>& pending);
  void LeadOneBatch(std::unique_lock<std::mutex>& lock);
  // Marks `p` done with `status` and wakes its waiter (mu held).
  static void Complete(Pending& p, absl::Status status);
  // Fails everything queued (mu held).
  void FailQueue(const std::function<absl::Status(const Pending&)>& why);
  // Wakes the first waiting entry of the queue, which leads next (mu held).
  void WakeNextLeader();
  // Commits `batch` in one transaction (takes write_mu). Sets *ambiguous
  // when a failure may have left the batch on disk.
  absl::Status CommitBatch(const std::vector<std::shared_ptr<Pending>>& batch,
                           bool* ambiguous);
  void WriteLockRecord();  // with write_mu held

  // Reading: a connection from the pool inside a read transaction (BEGIN;
  // the snapshot starts at the first read). ReleaseReader ends it.
  absl::StatusOr<std::unique_ptr<internal::Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<internal::Connection> conn);
  absl::StatusOr<std::unique_ptr<internal::Connection>> OpenReader();

  // Writes on the writer connection (write_mu held by the caller):
  // BEGIN IMMEDIATE, `body`, COMMIT with synchronous FULL (per options) or
  // NORMAL (`durable` false: a later synced commit makes it durable).
  absl::Status WriteTransaction(absl::string_view what, bool durable,
                                const std::function<absl::Status()>& body,
                                bool* ambiguous = nullptr);

  // Deletes incomplete and obsolete checkpoints and, unless
  // keep_compacted_entries, entries up to the latest checkpoint, in short
  // transactions (checkpoint_mu held by the caller).
  absl::Status CollectGarbage(uint64_t checkpoint_revision);

  absl::Status WriteCheckpoint(Checkpoint checkpoint);

  // WriteCheckpoint's passes (durable_log_checkpoint.cc), checkpoint_mu
  // held; each is described at its definition.
  struct CheckpointWrite;  // one checkpoint's inputs and progress
  absl::Status ReserveCheckpointBase(CheckpointWrite& cw);
  void ReleaseCheckpointBase(const CheckpointWrite& cw);
  absl::Status StartCheckpoint(CheckpointWrite& cw);
  absl::Status InsertCheckpointRow(CheckpointWrite& cw);
  absl::Status FindCheckpointChainHead(internal::Connection& conn,
                                       int64_t latest, CheckpointWrite& cw);
  absl::Status WriteCheckpointChunks(CheckpointWrite& cw);
  absl::Status CompleteCheckpoint(CheckpointWrite& cw);
  absl::Status AbandonCheckpoint(CheckpointWrite& cw, absl::Status status);

  void StartWalCheckpointer();
  void StopWalCheckpointer();
  // Copies the WAL into the database (SQLite PASSIVE checkpoint: never
  // waits for writers or readers), so that the next write may restart it.
  void RunWalCheckpoint();
};

}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_DURABLE_LOG_INTERNAL_H_
