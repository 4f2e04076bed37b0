// DurableLog: opening, verification on open, group commit, readers, and the
// background WAL checkpointer. Checkpoints: durable_log_checkpoint.cc;
// reading and verification: durable_log_verify.cc.

#include "src/store/durable_log.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/store/durable_log_internal.h"
#include "src/store/status_macros.h"

namespace arbiter {
namespace store {

using internal::Connection;
using internal::Digest;
using internal::LockFile;
using internal::LockRecord;
using internal::LogShape;
using internal::OpenMode;
using internal::Statement;

namespace {

constexpr size_t kMaxIdleReaders = 8;

absl::Status ValidateOptions(const DurableLogOptions& o) {
  if (o.checkpoint_chunk_bytes == 0 || o.max_batch_entries == 0 ||
      o.max_batch_bytes == 0 || o.max_entry_bytes == 0 ||
      o.busy_timeout_ms < 0 || o.wal_checkpoint_pages < 0) {
    return absl::InvalidArgumentError(
        "DurableLogOptions: checkpoint_chunk_bytes, max_batch_entries, "
        "max_batch_bytes and max_entry_bytes must be positive, "
        "busy_timeout_ms and wal_checkpoint_pages non-negative");
  }
  if (o.checkpoint_chunk_bytes > (size_t{512} << 20) ||
      o.max_entry_bytes > (size_t{512} << 20)) {
    return absl::InvalidArgumentError(
        "DurableLogOptions: checkpoint_chunk_bytes and max_entry_bytes are at "
        "most 512 MiB (SQLite's blob limit is 1 GB)");
  }
  return absl::OkStatus();
}

absl::Status MakeDirectories(const std::string& dir,
                             const internal::OsFaultHook& hook) {
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (prefix.empty()) continue;
    struct stat st;
    if (::stat(prefix.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(prefix, ": not a directory"));
      }
      continue;
    }
    int err = internal::InjectedErrno(hook, "mkdir", prefix);
    if (err == 0 && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      err = errno;
    }
    if (err != 0) {
      std::string message = absl::StrCat(
          prefix, ": cannot create the directory: ", std::strerror(err));
      return (err == EACCES || err == EROFS || err == EPERM)
                 ? absl::PermissionDeniedError(message)
                 : absl::UnavailableError(message);
    }
  }
  return absl::OkStatus();
}

// Connection settings shared by every connection of a store.
absl::Status ConfigureReader(Connection& conn) {
  return conn.Exec(
      "PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0; "
      "PRAGMA query_only = ON;",
      absl::StrCat(conn.path(), ": configuring a reader"));
}

int WalHook(void* arg, sqlite3*, const char*, int frames) {
  auto* impl = static_cast<DurableLog::Impl*>(arg);
  impl->wal_frames.store(frames, std::memory_order_relaxed);
  const int threshold = impl->options.wal_checkpoint_pages;
  if (threshold > 0 && frames >= threshold) {
    std::lock_guard<std::mutex> l(impl->wal_mu);
    impl->wal_requested = true;
    impl->wal_cv.notify_one();
  }
  return SQLITE_OK;
}

// Refuses a database that ends before the revision the LOCK record
// witnessed, or whose history differs from it.
absl::Status CheckWitness(Connection& conn, const LockRecord& w,
                          const LogShape& shape, const std::string& lock_path) {
  const std::string store_hex = internal::HexBytes(shape.info.store_id);
  if (w.store_id_hex != store_hex) {
    return absl::DataLossError(absl::StrCat(
        conn.path(), ": belongs to store ", store_hex, ", but ", lock_path,
        " was written by store ", w.store_id_hex,
        ": files of two stores are mixed (restore the matching database, or "
        "delete LOCK to accept this one)"));
  }
  if (w.revision > shape.last_revision) {
    if (!w.synced) return absl::OkStatus();  // kNormal may lose its tail
    return absl::DataLossError(absl::StrCat(
        conn.path(), ": the log ends at revision ", shape.last_revision,
        ", but ", lock_path, " records revision ", w.revision,
        " as durably committed: committed transactions are missing (a "
        "truncated or deleted -wal or database file?). If an older copy was "
        "restored on purpose, delete LOCK to accept it"));
  }
  absl::optional<Digest> at;
  if (w.revision == shape.last_revision) {
    at = shape.last_hash;
  } else if (w.revision == shape.info.base_revision) {
    at = shape.info.base_hash;
  } else if (shape.checkpoint.has_value() &&
             shape.checkpoint->revision == w.revision) {
    at = shape.checkpoint->chain_head;
  } else {
    STORE_ASSIGN_OR_RETURN(at, internal::StoredEntryHash(conn, w.revision));
  }
  if (at.has_value() && internal::Hex(*at) != w.head_hex) {
    return absl::DataLossError(
        absl::StrCat(conn.path(), ": the hash of revision ", w.revision, " (",
                     internal::Hex(*at, 8), "…) differs from the one ",
                     lock_path, " recorded (", w.head_hex.substr(0, 16),
                     "…): the log's history was replaced"));
  }
  return absl::OkStatus();
}

// SQLite's quick_check: the b-trees, the free list, record formats.
absl::Status QuickCheck(Connection& conn) {
  STORE_ASSIGN_OR_RETURN(
      std::string result,
      conn.QueryText("PRAGMA quick_check(1)",
                     absl::StrCat(conn.path(), ": quick_check")));
  if (result == "ok") return absl::OkStatus();
  // A page SQLite could not read is an I/O error (or a page number far
  // beyond any file), not proof of damage.
  if (absl::StrContains(result, "failed to get page") ||
      absl::StrContains(result, "unable to get the page")) {
    return absl::UnavailableError(
        absl::StrCat(conn.path(),
                     ": SQLite quick_check could not read a page (an I/O "
                     "error?): ",
                     result));
  }
  return absl::DataLossError(
      absl::StrCat(conn.path(), ": SQLite quick_check: ", result));
}

// Opens a read-only connection for verification; nothing it does writes the
// database (SQLite may create the -shm index and an empty -wal).
absl::StatusOr<std::unique_ptr<Connection>> OpenVerifier(
    const std::string& path, const DurableLogOptions& options, bool immutable) {
  STORE_ASSIGN_OR_RETURN(
      auto conn,
      Connection::Open(path, OpenMode::kReadOnly, options.sqlite_vfs_for_test,
                       options.busy_timeout_ms, immutable));
  sqlite3_db_config(conn->db(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  STORE_RETURN_IF_ERROR(ConfigureReader(*conn));
  return conn;
}

}  // namespace

// ---- Open ----

absl::StatusOr<std::unique_ptr<DurableLog>> DurableLog::Open(
    const std::string& dir_in, const Options& options) {
  STORE_RETURN_IF_ERROR(ValidateOptions(options));
  if (dir_in.empty()) {
    return absl::InvalidArgumentError("DurableLog::Open: empty directory");
  }
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->db_path = absl::StrCat(dir, "/", kDatabaseFile);
  impl->lock_path = absl::StrCat(dir, "/", kLockFile);
  impl->options = options;
  const bool read_only = options.read_only;
  const auto& hook = options.os_fault_for_test;

  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && !read_only && options.create_if_missing) {
      STORE_RETURN_IF_ERROR(MakeDirectories(dir, hook));
    } else {
      return absl::NotFoundError(
          absl::StrCat(dir, ": no store here: ", std::strerror(errno)));
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": not a directory"));
  }

  if (!read_only) {
    STORE_ASSIGN_OR_RETURN(impl->lock,
                           LockFile::Acquire(impl->lock_path, hook));
  }
  // Read before the database: a writer may commit meanwhile, but never
  // records a revision it has not committed, so the database read next
  // holds at least this revision.
  const absl::optional<LockRecord> witness = LockFile::Read(impl->lock_path);

  if (::stat(impl->db_path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::UnavailableError(
          absl::StrCat(impl->db_path, ": cannot stat: ", std::strerror(errno)));
    }
    if (read_only || !options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat(
          impl->db_path, ": no store here (the file does not exist)"));
    }
    STORE_RETURN_IF_ERROR(
        internal::CreateDatabase(impl->db_path, options.sqlite_vfs_for_test,
                                 options.busy_timeout_ms, hook));
  } else if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(impl->db_path, ": not a regular file"));
  }

  // Verification, on a read-only connection, before anything is written.
  LogShape shape;
  {
    STORE_ASSIGN_OR_RETURN(auto conn,
                           OpenVerifier(impl->db_path, options, false));
    absl::Status schema = internal::CheckSchema(*conn);
    if (read_only &&
        (schema.code() == absl::StatusCode::kPermissionDenied ||
         schema.code() == absl::StatusCode::kNotFound) &&
        ::access((impl->db_path + "-wal").c_str(), F_OK) != 0) {
      // A read-only medium: SQLite cannot create the -wal and -shm files
      // (EROFS, or ENOENT from its read-only retry). With no -wal file, the
      // database file alone is the whole state, and no writer is active
      // (a writer's -wal exists as long as it is open).
      conn.reset();
      STORE_ASSIGN_OR_RETURN(conn, OpenVerifier(impl->db_path, options, true));
      impl->immutable = true;
      schema = internal::CheckSchema(*conn);
    }
    STORE_RETURN_IF_ERROR(schema);
    STORE_RETURN_IF_ERROR(
        conn->Exec("BEGIN", absl::StrCat(impl->db_path, ": BEGIN")));
    absl::Status verified = [&]() -> absl::Status {
      // Our own reads first: an I/O error surfaces as one (quick_check
      // would report it as "failed to get page N").
      STORE_ASSIGN_OR_RETURN(
          shape, internal::VerifyLog(
                     *conn, options.verify_on_open == OpenVerification::kFull
                                ? internal::VerifyLevel::kFull
                                : internal::VerifyLevel::kRecoveryView));
      if (!read_only && options.quick_check_on_open) {
        STORE_RETURN_IF_ERROR(QuickCheck(*conn));
      }
      if (witness.has_value()) {
        STORE_RETURN_IF_ERROR(
            CheckWitness(*conn, *witness, shape, impl->lock_path));
      }
      return absl::OkStatus();
    }();
    conn->RollbackQuietly();
    STORE_RETURN_IF_ERROR(verified);
  }
  impl->info = shape.info;
  impl->head_hash = shape.last_hash;
  impl->last_revision.store(shape.last_revision);
  impl->next_revision = shape.last_revision + 1;

  if (!read_only) {
    STORE_ASSIGN_OR_RETURN(
        impl->writer,
        Connection::Open(impl->db_path, OpenMode::kReadWrite,
                         options.sqlite_vfs_for_test, options.busy_timeout_ms));
    Connection& w = *impl->writer;
    STORE_RETURN_IF_ERROR(w.Exec(
        absl::StrCat(
            options.sync == SyncMode::kFull ? "PRAGMA synchronous = FULL;"
                                            : "PRAGMA synchronous = NORMAL;",
            "PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0; "
            "PRAGMA secure_delete = FAST; "
            "PRAGMA journal_size_limit = ",
            std::max<int64_t>(int64_t{4} << 20,
                              int64_t{16384} * options.wal_checkpoint_pages),
            "; "
            "PRAGMA cache_size = -8192;"),
        absl::StrCat(impl->db_path, ": configuring the writer")));
    STORE_ASSIGN_OR_RETURN(
        std::string mode,
        w.QueryText("PRAGMA journal_mode = WAL",
                    absl::StrCat(impl->db_path, ": setting WAL mode")));
    if (mode != "wal") {
      return absl::UnavailableError(absl::StrCat(
          impl->db_path, ": SQLite refused WAL mode (journal_mode is ", mode,
          ")"));
    }
    // Replaces SQLite's auto-checkpoint, which would copy the WAL into the
    // database inside a commit, holding up the Append that triggered it.
    sqlite3_wal_hook(w.db(), &WalHook, impl.get());
    STORE_ASSIGN_OR_RETURN(
        impl->insert_entry,
        Statement::Prepare(
            w,
            "INSERT INTO entries(revision, hash, payload) VALUES (?, ?, ?)"));
    STORE_ASSIGN_OR_RETURN(impl->begin_immediate,
                           Statement::Prepare(w, "BEGIN IMMEDIATE"));
    STORE_ASSIGN_OR_RETURN(impl->commit, Statement::Prepare(w, "COMMIT"));
    {
      std::lock_guard<std::mutex> l(impl->checkpoint_mu);
      if (shape.has_garbage ||
          (!options.keep_compacted_entries && shape.checkpoint.has_value() &&
           shape.entry_count > 0 &&
           shape.first_entry <= shape.checkpoint->revision)) {
        absl::Status collected = impl->CollectGarbage(
            shape.checkpoint.has_value() ? shape.checkpoint->revision : 0);
        // On a full disk the leftovers stay (invisible to readers, retried
        // at the next checkpoint or open): the store must still open.
        if (!collected.ok() &&
            collected.code() != absl::StatusCode::kResourceExhausted) {
          return collected;
        }
      }
    }
    {
      std::lock_guard<std::mutex> l(impl->write_mu);
      impl->WriteLockRecord();
    }
    if (options.wal_checkpoint_pages > 0) {
      STORE_ASSIGN_OR_RETURN(
          impl->wal_conn, Connection::Open(impl->db_path, OpenMode::kReadWrite,
                                           options.sqlite_vfs_for_test,
                                           options.busy_timeout_ms));
      STORE_RETURN_IF_ERROR(impl->wal_conn->Exec(
          "PRAGMA synchronous = FULL; PRAGMA mmap_size = 0;",
          absl::StrCat(impl->db_path, ": configuring the WAL checkpointer")));
      sqlite3_db_config(impl->wal_conn->db(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                        1, nullptr);
      impl->StartWalCheckpointer();
    }
  }
  return std::unique_ptr<DurableLog>(new DurableLog(std::move(impl)));
}

DurableLog::DurableLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DurableLog::~DurableLog() = default;

DurableLog::Impl::~Impl() {
  // Commit what is still queued (handles that were never waited on).
  {
    std::unique_lock<std::mutex> l(mu);
    while (!queue.empty() || leader_active) {
      if (!leader_active) {
        LeadOneBatch(l);
      } else {
        l.unlock();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        l.lock();
      }
    }
  }
  StopWalCheckpointer();
  wal_conn.reset();
  idle_readers.clear();
  insert_entry.reset();
  begin_immediate.reset();
  commit.reset();
  if (writer != nullptr && !failed.ok()) {
    // After an ambiguous failure, write nothing more.
    sqlite3_db_config(writer->db(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
                      nullptr);
  }
  // The last connection to close folds the WAL into the database (synced)
  // and deletes it.
  writer.reset();
  if (lock != nullptr && failed.ok() && options.sync == SyncMode::kNormal &&
      ::access((db_path + "-wal").c_str(), F_OK) != 0) {
    // Everything is in the synced database file now: the witness may claim
    // it as durable, as a kFull writer's does.
    options.sync = SyncMode::kFull;
    WriteLockRecord();
  }
  lock.reset();
}

// ---- Accessors ----

uint64_t DurableLog::last_revision() const {
  return impl_->last_revision.load(std::memory_order_acquire);
}

uint64_t DurableLog::last_queued_revision() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->next_revision - 1;
}

const std::string& DurableLog::directory() const { return impl_->dir; }
bool DurableLog::read_only() const { return impl_->options.read_only; }

DurableLogStats DurableLog::stats() const {
  DurableLogStats s;
  s.group_commits = impl_->group_commits.load();
  s.entries_committed = impl_->entries_committed.load();
  s.largest_group = impl_->largest_group.load();
  s.checkpoints_written = impl_->checkpoints_written.load();
  s.wal_checkpoints = impl_->wal_checkpoints.load();
  s.wal_checkpoint_errors = impl_->wal_checkpoint_errors.load();
  return s;
}

// ---- Group commit ----

absl::Status DurableLog::Append(LogEntry entry) {
  return Enqueue(std::move(entry)).Wait();
}

DurableLog::AppendHandle DurableLog::Enqueue(LogEntry entry) {
  auto pending = std::make_shared<AppendHandle::Pending>();
  const uint64_t revision = entry.revision;
  const size_t size = entry.payload.size();
  pending->entry = std::move(entry);
  auto fail = [&](absl::Status status) {
    pending->status = std::move(status);
    pending->done = true;
    return AppendHandle(nullptr, std::move(pending));
  };
  if (impl_->options.read_only) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat(impl_->db_path, ": appending revision ", revision,
                     ": the log is open read-only")));
  }
  if (size > impl_->options.max_entry_bytes) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(impl_->db_path, ": appending revision ", revision,
                     ": payload of ", size, " bytes exceeds max_entry_bytes (",
                     impl_->options.max_entry_bytes, ")")));
  }
  std::lock_guard<std::mutex> l(impl_->mu);
  if (!impl_->failed.ok()) {
    return fail(absl::Status(
        impl_->failed.code(),
        absl::StrCat(impl_->db_path, ": appending revision ", revision,
                     ": the log refuses writes after an earlier failure "
                     "(reopen it): ",
                     impl_->failed.message())));
  }
  if (revision != impl_->next_revision) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        impl_->db_path, ": appending revision ", revision,
        ": revisions must be consecutive, expected revision ",
        impl_->next_revision, " (last committed ", impl_->last_revision.load(),
        ", last queued ", impl_->next_revision - 1, ")")));
  }
  ++impl_->next_revision;
  impl_->queue.push_back(pending);
  return AppendHandle(impl_.get(), std::move(pending));
}

absl::Status DurableLog::AppendHandle::Wait() {
  if (pending_ == nullptr) {
    return absl::FailedPreconditionError("AppendHandle: empty handle");
  }
  if (log_ == nullptr) return pending_->status;  // refused by Enqueue
  return log_->WaitFor(pending_);
}

uint64_t DurableLog::AppendHandle::revision() const {
  return pending_ == nullptr ? 0 : pending_->entry.revision;
}

absl::Status DurableLog::Impl::WaitFor(const std::shared_ptr<Pending>& p) {
  std::unique_lock<std::mutex> l(mu);
  p->waiting = true;
  while (!p->done) {
    if (!leader_active && !queue.empty()) {
      LeadOneBatch(l);
    } else {
      p->cv.wait(l);
    }
  }
  p->waiting = false;
  return p->status;
}

void DurableLog::Impl::Complete(Pending& p, absl::Status status) {
  p.status = std::move(status);
  p.done = true;
  if (p.waiting) p.cv.notify_one();
}

void DurableLog::Impl::FailQueue(
    const std::function<absl::Status(const Pending&)>& why) {
  for (auto& p : queue) Complete(*p, why(*p));
  queue.clear();
  next_revision = last_revision.load() + 1;
}

void DurableLog::Impl::WakeNextLeader() {
  for (auto& p : queue) {
    if (p->waiting) {
      p->cv.notify_one();
      return;
    }
  }
}

void DurableLog::Impl::LeadOneBatch(std::unique_lock<std::mutex>& l) {
  if (!failed.ok()) {
    // An ambiguous failure (of a commit or a checkpoint) after these were
    // queued: write nothing more.
    FailQueue([this](const Pending& p) {
      return absl::Status(
          failed.code(),
          absl::StrCat(db_path, ": appending revision ", p.entry.revision,
                       ": the log refuses writes after an earlier failure "
                       "(reopen it): ",
                       failed.message()));
    });
    return;
  }
  leader_active = true;
  std::vector<std::shared_ptr<Pending>> batch;
  size_t bytes = 0;
  while (!queue.empty() && batch.size() < options.max_batch_entries) {
    const size_t size = queue.front()->entry.payload.size();
    if (!batch.empty() && bytes + size > options.max_batch_bytes) break;
    bytes += size;
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  l.unlock();
  bool ambiguous = false;
  absl::Status status = CommitBatch(batch, &ambiguous);
  l.lock();
  for (auto& p : batch) Complete(*p, status);
  if (!status.ok()) {
    const uint64_t first = batch.front()->entry.revision;
    const uint64_t last = batch.back()->entry.revision;
    FailQueue([&](const Pending& p) {
      return absl::FailedPreconditionError(
          absl::StrCat(db_path, ": appending revision ", p.entry.revision,
                       ": queued behind revisions ", first, "..", last,
                       ", whose commit failed: ", status.message()));
    });
    if (ambiguous) failed = status;
  }
  leader_active = false;
  WakeNextLeader();
}

absl::Status DurableLog::Impl::CommitBatch(
    const std::vector<std::shared_ptr<Pending>>& batch, bool* ambiguous) {
  *ambiguous = false;
  leaders_waiting.fetch_add(1);
  std::lock_guard<std::mutex> w(write_mu);
  leaders_waiting.fetch_sub(1);
  const uint64_t first = batch.front()->entry.revision;
  const uint64_t last = batch.back()->entry.revision;
  const std::string what =
      first == last
          ? absl::StrCat(db_path, ": committing revision ", first)
          : absl::StrCat(db_path, ": committing revisions ", first, "..", last);
  if (first != last_revision.load() + 1) {
    // The base changed under the queue (a base checkpoint).
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": revisions must be consecutive, expected revision ",
        last_revision.load() + 1));
  }
  std::vector<Digest> hashes;
  hashes.reserve(batch.size());
  Digest prev = head_hash;
  for (const auto& p : batch) {
    prev = internal::EntryHash(prev, p->entry.revision, p->entry.payload);
    hashes.push_back(prev);
  }
  absl::Status status = WriteTransaction(
      what, /*durable=*/true,
      [&]() -> absl::Status {
        for (size_t i = 0; i < batch.size(); ++i) {
          insert_entry->BindInt(1,
                                static_cast<int64_t>(batch[i]->entry.revision));
          insert_entry->BindBlob(2, internal::AsBytes(hashes[i]));
          insert_entry->BindBlob(3, batch[i]->entry.payload);
          absl::Status s = insert_entry->Step(what).status();
          insert_entry->Reset();
          STORE_RETURN_IF_ERROR(s);
        }
        return absl::OkStatus();
      },
      ambiguous);
  if (!status.ok()) return status;
  head_hash = hashes.back();
  last_revision.store(last, std::memory_order_release);
  group_commits.fetch_add(1);
  entries_committed.fetch_add(batch.size());
  uint64_t largest = largest_group.load();
  while (largest < batch.size() &&
         !largest_group.compare_exchange_weak(largest, batch.size())) {
  }
  WriteLockRecord();
  return absl::OkStatus();
}

absl::Status DurableLog::Impl::WriteTransaction(
    absl::string_view what, bool durable,
    const std::function<absl::Status()>& body, bool* ambiguous) {
  if (ambiguous != nullptr) *ambiguous = false;
  Connection& w = *writer;
  const bool relax = !durable && options.sync == SyncMode::kFull;
  if (relax) {
    STORE_RETURN_IF_ERROR(w.Exec("PRAGMA synchronous = NORMAL", what));
  }
  absl::Status status = [&]() -> absl::Status {
    absl::Status s = begin_immediate->Step(what).status();
    begin_immediate->Reset();
    STORE_RETURN_IF_ERROR(s);
    s = body();
    if (!s.ok()) {
      w.RollbackQuietly();
      return s;
    }
    int rc = commit->StepRaw();
    commit->Reset();
    if (rc != SQLITE_DONE) {
      s = internal::SqliteStatus(w.db(), rc, what);
      if (ambiguous != nullptr) {
        *ambiguous = internal::IsAmbiguousCommitFailure(rc);
      }
      w.RollbackQuietly();
      return s;
    }
    return absl::OkStatus();
  }();
  if (relax) {
    absl::Status restored = w.Exec("PRAGMA synchronous = FULL", what);
    if (status.ok()) status = restored;
  }
  return status;
}

void DurableLog::Impl::WriteLockRecord() {
  if (lock == nullptr) return;
  LockRecord r;
  r.pid = ::getpid();
  r.store_id_hex = internal::HexBytes(info.store_id);
  r.revision = last_revision.load();
  r.head_hex = internal::Hex(head_hash);
  r.synced = options.sync == SyncMode::kFull;
  // A hint, not the truth: a failure to write it costs only its check.
  (void)lock->Write(r);
}

// ---- Readers ----

absl::StatusOr<std::unique_ptr<Connection>> DurableLog::Impl::OpenReader() {
  STORE_ASSIGN_OR_RETURN(auto conn,
                         Connection::Open(db_path, OpenMode::kReadOnly,
                                          options.sqlite_vfs_for_test,
                                          options.busy_timeout_ms, immutable));
  STORE_RETURN_IF_ERROR(ConfigureReader(*conn));
  return conn;
}

absl::StatusOr<std::unique_ptr<Connection>> DurableLog::Impl::AcquireReader() {
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> l(pool_mu);
    if (!idle_readers.empty()) {
      conn = std::move(idle_readers.back());
      idle_readers.pop_back();
    }
  }
  if (conn == nullptr) {
    STORE_ASSIGN_OR_RETURN(conn, OpenReader());
  }
  STORE_RETURN_IF_ERROR(
      conn->Exec("BEGIN", absl::StrCat(db_path, ": starting a read")));
  return conn;
}

void DurableLog::Impl::ReleaseReader(std::unique_ptr<Connection> conn) {
  conn->RollbackQuietly();
  std::lock_guard<std::mutex> l(pool_mu);
  if (idle_readers.size() < kMaxIdleReaders) {
    idle_readers.push_back(std::move(conn));
  }
}

// ---- Background WAL checkpoints ----

void DurableLog::Impl::StartWalCheckpointer() {
  wal_thread = std::thread([this] {
    while (true) {
      {
        std::unique_lock<std::mutex> l(wal_mu);
        wal_cv.wait(l, [this] { return wal_requested || wal_stopping; });
        if (wal_stopping) return;
        wal_requested = false;
      }
      RunWalCheckpoint();
    }
  });
}

void DurableLog::Impl::RunWalCheckpoint() {
  if (wal_conn == nullptr) return;
  std::lock_guard<std::mutex> l(wal_conn_mu);
  int log_frames = 0;
  int copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(
      wal_conn->db(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
  if (rc == SQLITE_OK) {
    wal_checkpoints.fetch_add(1);
  } else if ((rc & 0xff) != SQLITE_BUSY) {
    wal_checkpoint_errors.fetch_add(1);
  }
}

void DurableLog::Impl::StopWalCheckpointer() {
  if (!wal_thread.joinable()) return;
  {
    std::lock_guard<std::mutex> l(wal_mu);
    wal_stopping = true;
    wal_cv.notify_one();
  }
  wal_thread.join();
}

}  // namespace store
}  // namespace arbiter
