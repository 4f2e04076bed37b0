// Checkpoints: written in chunks, each in a short unsynced transaction, then
// made visible by one synced transaction; then older data is deleted in
// short transactions. Appends interleave with all of them.

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/store/durable_log_internal.h"
#include "src/store/status_macros.h"

namespace arbiter {
namespace store {

using internal::Connection;
using internal::Digest;
using internal::Statement;

namespace {

// Rows deleted per transaction by garbage collection: small enough that an
// Append waits a few milliseconds at most.
constexpr int64_t kEntriesPerDelete = 2000;
constexpr size_t kChunkBytesPerDelete = size_t{4} << 20;

}  // namespace

absl::Status DurableLog::WriteCheckpoint(Checkpoint checkpoint) {
  return impl_->WriteCheckpoint(std::move(checkpoint));
}

// One checkpoint being written: its inputs and what each pass learned.
struct DurableLog::Impl::CheckpointWrite {
  CheckpointWrite(uint64_t revision, absl::string_view payload,
                  std::string what)
      : revision(revision), payload(payload), what(std::move(what)) {}

  const uint64_t revision;
  const absl::string_view payload;  // the caller's Checkpoint::payload
  const std::string what;           // the prefix of every error message
  bool base = false;  // the empty log's base, next_revision reserved
  Digest chain_head;  // the chain head at `revision`
  int64_t id = 0;     // its row in table checkpoints
  std::unique_ptr<Statement> insert_chunk;  // guarded by write_mu
  Digest prev;  // the last chunk's hash (the seed before any)
  uint64_t chunk_count = 0;
};

// Checks the arguments, then runs the passes below in order, under
// checkpoint_mu.
absl::Status DurableLog::Impl::WriteCheckpoint(Checkpoint cp) {
  CheckpointWrite cw(
      cp.revision, cp.payload,
      absl::StrCat(db_path, ": checkpoint at revision ", cp.revision));
  if (options.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(cw.what, ": the log is open read-only"));
  }
  if (cw.payload.size() > options.max_checkpoint_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(cw.what, ": payload of ", cw.payload.size(),
                     " bytes exceeds max_checkpoint_bytes (",
                     options.max_checkpoint_bytes, ")"));
  }
  std::lock_guard<std::mutex> one_at_a_time(checkpoint_mu);

  absl::Status s = ReserveCheckpointBase(cw);
  if (!s.ok()) return s;
  s = StartCheckpoint(cw);
  if (!s.ok()) return s;
  s = WriteCheckpointChunks(cw);
  if (!s.ok()) return AbandonCheckpoint(cw, s);
  s = CompleteCheckpoint(cw);
  if (!s.ok()) return s;
  checkpoints_written.fetch_add(1);

  absl::Status collected = CollectGarbage(cw.revision);
  if (!collected.ok()) {
    return absl::Status(
        collected.code(),
        absl::StrCat(cw.what,
                     ": the checkpoint is complete, but deleting older data "
                     "failed (retried at the next checkpoint or writable "
                     "open): ",
                     collected.message()));
  }
  return absl::OkStatus();
}

// Refuses a failed log or a revision after the last committed one, except on
// an empty log, where the checkpoint becomes the base: then it reserves the
// revision after it for the queue (cw.base).
absl::Status DurableLog::Impl::ReserveCheckpointBase(CheckpointWrite& cw) {
  std::lock_guard<std::mutex> l(mu);
  if (!failed.ok()) {
    return absl::Status(failed.code(),
                        absl::StrCat(cw.what,
                                     ": the log refuses writes after an "
                                     "earlier failure (reopen it): ",
                                     failed.message()));
  }
  const uint64_t last = last_revision.load();
  if (cw.revision > last) {
    if (last != 0 || next_revision != 1 || !queue.empty() || leader_active) {
      return absl::FailedPreconditionError(absl::StrCat(
          cw.what, ": after the last committed revision ", last,
          " (a checkpoint must be of a committed revision; only an empty "
          "log takes one at a later revision, as its base)"));
    }
    cw.base = true;
    next_revision = cw.revision + 1;
  }
  return absl::OkStatus();
}

// Gives back the revision ReserveCheckpointBase reserved, if nothing has
// been queued since.
void DurableLog::Impl::ReleaseCheckpointBase(const CheckpointWrite& cw) {
  if (!cw.base) return;
  std::lock_guard<std::mutex> l(mu);
  if (last_revision.load() == 0 && next_revision == cw.revision + 1 &&
      queue.empty() && !leader_active) {
    next_revision = 1;
  }
}

// Under write_mu: inserts the checkpoint's row (InsertCheckpointRow); on
// failure gives back the base reservation, write_mu still held.
absl::Status DurableLog::Impl::StartCheckpoint(CheckpointWrite& cw) {
  std::lock_guard<std::mutex> w(write_mu);
  absl::Status s = InsertCheckpointRow(cw);
  if (!s.ok()) ReleaseCheckpointBase(cw);
  return s;
}

// With write_mu held: checks the revision against the latest complete
// checkpoint, finds its chain head, inserts the incomplete checkpoint row
// (cw.id) and prepares cw.insert_chunk.
absl::Status DurableLog::Impl::InsertCheckpointRow(CheckpointWrite& cw) {
  Connection& conn = *writer;
  STORE_ASSIGN_OR_RETURN(
      int64_t latest,
      conn.QueryInt("SELECT ifnull(max(revision), -1) FROM checkpoints "
                    "WHERE state = 2",
                    cw.what));
  if (latest >= 0 && cw.revision < static_cast<uint64_t>(latest)) {
    return absl::FailedPreconditionError(absl::StrCat(
        cw.what, ": older than the latest checkpoint, at revision ", latest));
  }
  STORE_RETURN_IF_ERROR(FindCheckpointChainHead(conn, latest, cw));
  STORE_RETURN_IF_ERROR(WriteTransaction(
      absl::StrCat(cw.what, ": starting"), /*durable=*/false,
      [&]() -> absl::Status {
        STORE_ASSIGN_OR_RETURN(
            auto insert,
            Statement::Prepare(
                conn,
                "INSERT INTO checkpoints(revision, state, chain_head, "
                "chunk_count, total_bytes) VALUES (?, 1, ?, 0, 0)"));
        insert->BindInt(1, static_cast<int64_t>(cw.revision));
        insert->BindBlob(2, internal::AsBytes(cw.chain_head));
        STORE_RETURN_IF_ERROR(insert->Step(cw.what).status());
        cw.id = sqlite3_last_insert_rowid(conn.db());
        return absl::OkStatus();
      }));
  STORE_ASSIGN_OR_RETURN(
      cw.insert_chunk,
      Statement::Prepare(conn,
                         "INSERT INTO checkpoint_chunks(checkpoint_id, "
                         "chunk_index, hash, data) VALUES (?, ?, ?, ?)"));
  return absl::OkStatus();
}

// Sets cw.chain_head, the chain head at cw.revision: of the base, the head,
// a stored entry or the latest complete checkpoint (`latest`, -1 if none);
// write_mu held.
absl::Status DurableLog::Impl::FindCheckpointChainHead(Connection& conn,
                                                       int64_t latest,
                                                       CheckpointWrite& cw) {
  const uint64_t revision = cw.revision;
  if (cw.base) {
    cw.chain_head = internal::BaseHash(info.store_id, revision);
    return absl::OkStatus();
  }
  if (revision == last_revision.load()) {
    cw.chain_head = head_hash;
    return absl::OkStatus();
  }
  if (revision == info.base_revision) {
    cw.chain_head = info.base_hash;
    return absl::OkStatus();
  }
  STORE_ASSIGN_OR_RETURN(absl::optional<Digest> h,
                         internal::StoredEntryHash(conn, revision));
  if (h.has_value()) {
    cw.chain_head = *h;
    return absl::OkStatus();
  }
  if (latest >= 0 && static_cast<uint64_t>(latest) == revision) {
    STORE_ASSIGN_OR_RETURN(auto stmt,
                           Statement::Prepare(conn,
                                              "SELECT chain_head FROM "
                                              "checkpoints WHERE "
                                              "state = 2 AND revision = ?"));
    stmt->BindInt(1, static_cast<int64_t>(revision));
    STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(cw.what));
    if (!row ||
        !internal::DigestFromBytes(stmt->ColumnBlob(0), &cw.chain_head)) {
      return absl::DataLossError(
          absl::StrCat(cw.what, ": malformed chain head"));
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(cw.what, ": entry ", revision,
                   " was compacted, so its chain head is unknown"));
}

// Writes the payload's chunks, each in its own short unsynced transaction,
// giving way to waiting Append leaders; leaves cw.prev and cw.chunk_count.
absl::Status DurableLog::Impl::WriteCheckpointChunks(CheckpointWrite& cw) {
  const absl::string_view payload = cw.payload;
  const size_t chunk_bytes = options.checkpoint_chunk_bytes;
  Digest prev =
      internal::CheckpointSeed(info.store_id, cw.revision, cw.chain_head);
  uint64_t index = 0;
  for (size_t offset = 0; offset < payload.size(); offset += chunk_bytes) {
    const absl::string_view data = payload.substr(offset, chunk_bytes);
    const Digest hash = internal::ChunkHash(prev, index, data);
    // Let a waiting Append leader take write_mu first.
    for (int spins = 0; leaders_waiting.load() > 0 && spins < 2000; ++spins) {
      std::this_thread::sleep_for(std::chrono::microseconds(5));
    }
    std::unique_lock<std::mutex> w(write_mu);
    const std::string chunk_what =
        absl::StrCat(cw.what, ": writing chunk ", index);
    Statement& insert_chunk = *cw.insert_chunk;
    absl::Status s =
        WriteTransaction(chunk_what, /*durable=*/false, [&]() -> absl::Status {
          insert_chunk.BindInt(1, cw.id);
          insert_chunk.BindInt(2, static_cast<int64_t>(index));
          insert_chunk.BindBlob(3, internal::AsBytes(hash));
          insert_chunk.BindBlob(4, data);
          absl::Status step = insert_chunk.Step(chunk_what).status();
          insert_chunk.Reset();
          return step;
        });
    w.unlock();
    if (!s.ok()) return s;
    // Keep the WAL from growing by the whole checkpoint: copy it into the
    // database now and then (outside write_mu: Appends go on meanwhile), so
    // that a later transaction can restart it from the beginning.
    if (options.wal_checkpoint_pages > 0 &&
        wal_frames.load(std::memory_order_relaxed) >=
            4 * options.wal_checkpoint_pages) {
      RunWalCheckpoint();
    }
    prev = hash;
    ++index;
  }
  cw.prev = prev;
  cw.chunk_count = index;
  return absl::OkStatus();
}

// The completing transaction, synced: from here on it is the checkpoint
// (and, for a base, the log's base and head). On failure it abandons the
// checkpoint, or, when the failure is ambiguous, fails the log.
absl::Status DurableLog::Impl::CompleteCheckpoint(CheckpointWrite& cw) {
  std::unique_lock<std::mutex> w(write_mu);
  cw.insert_chunk.reset();
  const uint64_t revision = cw.revision;
  const uint64_t chunk_count = cw.chunk_count;
  const size_t total_bytes = cw.payload.size();
  const Digest record =
      internal::CheckpointRecordHash(info.store_id, revision, cw.chain_head,
                                     chunk_count, total_bytes, cw.prev);
  internal::StoreInfo new_info = info;
  if (cw.base) {
    new_info.base_revision = revision;
    new_info.base_hash = cw.chain_head;
  }
  bool ambiguous = false;
  Connection& conn = *writer;
  absl::Status s = WriteTransaction(
      absl::StrCat(cw.what, ": completing"), /*durable=*/true,
      [&]() -> absl::Status {
        STORE_ASSIGN_OR_RETURN(
            auto complete,
            Statement::Prepare(
                conn,
                "UPDATE checkpoints SET state = 2, chunk_count = ?, "
                "total_bytes = ?, last_chunk_hash = ?, record_hash = ? "
                "WHERE id = ? AND state = 1"));
        complete->BindInt(1, static_cast<int64_t>(chunk_count));
        complete->BindInt(2, static_cast<int64_t>(total_bytes));
        complete->BindBlob(3, internal::AsBytes(cw.prev));
        complete->BindBlob(4, internal::AsBytes(record));
        complete->BindInt(5, cw.id);
        STORE_RETURN_IF_ERROR(complete->Step(cw.what).status());
        if (sqlite3_changes(conn.db()) != 1) {
          return absl::InternalError(
              absl::StrCat(cw.what, ": its row disappeared while written"));
        }
        STORE_RETURN_IF_ERROR(conn.Exec(
            absl::StrCat("UPDATE checkpoints SET state = 3 WHERE state = 2 "
                         "AND id != ",
                         cw.id),
            cw.what));
        if (cw.base) {
          STORE_RETURN_IF_ERROR(internal::UpdateStoreBase(conn, new_info));
        }
        return absl::OkStatus();
      },
      &ambiguous);
  if (!s.ok()) {
    w.unlock();
    if (!ambiguous) return AbandonCheckpoint(cw, s);
    // It may or may not be on disk: write nothing more until reopened.
    {
      std::lock_guard<std::mutex> l(mu);
      failed = s;
    }
    ReleaseCheckpointBase(cw);
    return s;
  }
  if (cw.base) {
    info.base_revision = new_info.base_revision;
    info.base_hash = new_info.base_hash;
    head_hash = cw.chain_head;
    last_revision.store(revision, std::memory_order_release);
    WriteLockRecord();
  }
  return absl::OkStatus();
}

// Removes what was written of the checkpoint (best effort: the next writable
// Open removes it otherwise), releases its base reservation and returns
// `status`.
absl::Status DurableLog::Impl::AbandonCheckpoint(CheckpointWrite& cw,
                                                 absl::Status status) {
  {
    std::lock_guard<std::mutex> w(write_mu);
    cw.insert_chunk.reset();
  }
  (void)CollectGarbage(0);
  ReleaseCheckpointBase(cw);
  return status;
}

absl::Status DurableLog::Impl::CollectGarbage(uint64_t checkpoint_revision) {
  const std::string what = absl::StrCat(db_path, ": deleting older data");
  const int64_t chunks_per_delete = static_cast<int64_t>(std::max<size_t>(
      1, kChunkBytesPerDelete / options.checkpoint_chunk_bytes));
  // Chunks of incomplete and obsolete checkpoints (and orphans), then their
  // rows.
  const std::string delete_chunks = absl::StrCat(
      "DELETE FROM checkpoint_chunks WHERE rowid IN (SELECT c.rowid FROM "
      "checkpoint_chunks c LEFT JOIN checkpoints k ON k.id = c.checkpoint_id "
      "WHERE k.id IS NULL OR k.state != 2 LIMIT ",
      chunks_per_delete, ")");
  while (true) {
    int changes = 0;
    {
      std::lock_guard<std::mutex> w(write_mu);
      STORE_RETURN_IF_ERROR(
          WriteTransaction(what, /*durable=*/false, [&]() -> absl::Status {
            STORE_RETURN_IF_ERROR(writer->Exec(delete_chunks, what));
            changes = sqlite3_changes(writer->db());
            return absl::OkStatus();
          }));
    }
    if (changes == 0) break;
    if (options.wal_checkpoint_pages > 0 &&
        wal_frames.load(std::memory_order_relaxed) >=
            4 * options.wal_checkpoint_pages) {
      RunWalCheckpoint();
    }
  }
  {
    std::lock_guard<std::mutex> w(write_mu);
    STORE_RETURN_IF_ERROR(
        WriteTransaction(what, /*durable=*/false, [&]() -> absl::Status {
          return writer->Exec("DELETE FROM checkpoints WHERE state != 2", what);
        }));
  }
  if (options.keep_compacted_entries || checkpoint_revision == 0) {
    return absl::OkStatus();
  }
  // Entries up to the checkpoint, oldest first, so that what is left is
  // always a contiguous run ending at the checkpoint.
  const std::string delete_entries = absl::StrCat(
      "DELETE FROM entries WHERE revision IN (SELECT revision FROM entries "
      "WHERE revision <= ",
      checkpoint_revision, " ORDER BY revision LIMIT ", kEntriesPerDelete, ")");
  while (true) {
    int changes = 0;
    {
      std::lock_guard<std::mutex> w(write_mu);
      STORE_RETURN_IF_ERROR(
          WriteTransaction(what, /*durable=*/false, [&]() -> absl::Status {
            STORE_RETURN_IF_ERROR(writer->Exec(delete_entries, what));
            changes = sqlite3_changes(writer->db());
            return absl::OkStatus();
          }));
    }
    if (changes == 0) break;
    if (options.wal_checkpoint_pages > 0 &&
        wal_frames.load(std::memory_order_relaxed) >=
            4 * options.wal_checkpoint_pages) {
      RunWalCheckpoint();
    }
  }
  return absl::OkStatus();
}

}  // namespace store
}  // namespace arbiter
