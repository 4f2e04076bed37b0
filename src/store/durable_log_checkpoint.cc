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

absl::Status DurableLog::Impl::WriteCheckpoint(Checkpoint cp) {
  const uint64_t revision = cp.revision;
  const std::string what =
      absl::StrCat(db_path, ": checkpoint at revision ", revision);
  if (options.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": the log is open read-only"));
  }
  if (cp.payload.size() > options.max_checkpoint_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": payload of ", cp.payload.size(),
                     " bytes exceeds max_checkpoint_bytes (",
                     options.max_checkpoint_bytes, ")"));
  }
  std::lock_guard<std::mutex> one_at_a_time(checkpoint_mu);

  // A checkpoint after the last revision is allowed on an empty log only:
  // it becomes the base. Reserve the revision after it for the queue.
  bool base = false;
  {
    std::lock_guard<std::mutex> l(mu);
    if (!failed.ok()) {
      return absl::Status(failed.code(),
                          absl::StrCat(what,
                                       ": the log refuses writes after an "
                                       "earlier failure (reopen it): ",
                                       failed.message()));
    }
    const uint64_t last = last_revision.load();
    if (revision > last) {
      if (last != 0 || next_revision != 1 || !queue.empty() || leader_active) {
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": after the last committed revision ", last,
            " (a checkpoint must be of a committed revision; only an empty "
            "log takes one at a later revision, as its base)"));
      }
      base = true;
      next_revision = revision + 1;
    }
  }
  auto release_base = [&] {
    if (!base) return;
    std::lock_guard<std::mutex> l(mu);
    if (last_revision.load() == 0 && next_revision == revision + 1 &&
        queue.empty() && !leader_active) {
      next_revision = 1;
    }
  };

  Digest chain_head;
  int64_t id = 0;
  std::unique_ptr<Statement> insert_chunk;
  {
    std::lock_guard<std::mutex> w(write_mu);
    Connection& conn = *writer;
    absl::Status s = [&]() -> absl::Status {
      STORE_ASSIGN_OR_RETURN(
          int64_t latest,
          conn.QueryInt("SELECT ifnull(max(revision), -1) FROM checkpoints "
                        "WHERE state = 2",
                        what));
      if (latest >= 0 && revision < static_cast<uint64_t>(latest)) {
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": older than the latest checkpoint, at revision ", latest));
      }
      if (base) {
        chain_head = internal::BaseHash(info.store_id, revision);
      } else if (revision == last_revision.load()) {
        chain_head = head_hash;
      } else if (revision == info.base_revision) {
        chain_head = info.base_hash;
      } else {
        STORE_ASSIGN_OR_RETURN(absl::optional<Digest> h,
                               internal::StoredEntryHash(conn, revision));
        if (h.has_value()) {
          chain_head = *h;
        } else if (latest >= 0 && static_cast<uint64_t>(latest) == revision) {
          STORE_ASSIGN_OR_RETURN(
              auto stmt,
              Statement::Prepare(conn,
                                 "SELECT chain_head FROM checkpoints WHERE "
                                 "state = 2 AND revision = ?"));
          stmt->BindInt(1, static_cast<int64_t>(revision));
          STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(what));
          if (!row ||
              !internal::DigestFromBytes(stmt->ColumnBlob(0), &chain_head)) {
            return absl::DataLossError(
                absl::StrCat(what, ": malformed chain head"));
          }
        } else {
          return absl::FailedPreconditionError(
              absl::StrCat(what, ": entry ", revision,
                           " was compacted, so its chain head is unknown"));
        }
      }
      STORE_RETURN_IF_ERROR(WriteTransaction(
          absl::StrCat(what, ": starting"), /*durable=*/false,
          [&]() -> absl::Status {
            STORE_ASSIGN_OR_RETURN(
                auto insert,
                Statement::Prepare(
                    conn,
                    "INSERT INTO checkpoints(revision, state, chain_head, "
                    "chunk_count, total_bytes) VALUES (?, 1, ?, 0, 0)"));
            insert->BindInt(1, static_cast<int64_t>(revision));
            insert->BindBlob(2, internal::AsBytes(chain_head));
            STORE_RETURN_IF_ERROR(insert->Step(what).status());
            id = sqlite3_last_insert_rowid(conn.db());
            return absl::OkStatus();
          }));
      STORE_ASSIGN_OR_RETURN(
          insert_chunk,
          Statement::Prepare(conn,
                             "INSERT INTO checkpoint_chunks(checkpoint_id, "
                             "chunk_index, hash, data) VALUES (?, ?, ?, ?)"));
      return absl::OkStatus();
    }();
    if (!s.ok()) {
      release_base();
      return s;
    }
  }

  // Removes what was written of this checkpoint (best effort: the next
  // writable Open removes it otherwise).
  auto abandon = [&](absl::Status status) {
    {
      std::lock_guard<std::mutex> w(write_mu);
      insert_chunk.reset();
    }
    (void)CollectGarbage(0);
    release_base();
    return status;
  };

  // The chunks, each in its own short transaction.
  const absl::string_view payload = cp.payload;
  const size_t chunk_bytes = options.checkpoint_chunk_bytes;
  Digest prev = internal::CheckpointSeed(info.store_id, revision, chain_head);
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
        absl::StrCat(what, ": writing chunk ", index);
    absl::Status s =
        WriteTransaction(chunk_what, /*durable=*/false, [&]() -> absl::Status {
          insert_chunk->BindInt(1, id);
          insert_chunk->BindInt(2, static_cast<int64_t>(index));
          insert_chunk->BindBlob(3, internal::AsBytes(hash));
          insert_chunk->BindBlob(4, data);
          absl::Status step = insert_chunk->Step(chunk_what).status();
          insert_chunk->Reset();
          return step;
        });
    w.unlock();
    if (!s.ok()) return abandon(s);
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

  // The completing transaction, synced: from here on it is the checkpoint.
  {
    std::unique_lock<std::mutex> w(write_mu);
    insert_chunk.reset();
    const uint64_t chunk_count = index;
    const Digest record = internal::CheckpointRecordHash(
        info.store_id, revision, chain_head, chunk_count, payload.size(), prev);
    internal::StoreInfo new_info = info;
    if (base) {
      new_info.base_revision = revision;
      new_info.base_hash = chain_head;
    }
    bool ambiguous = false;
    Connection& conn = *writer;
    absl::Status s = WriteTransaction(
        absl::StrCat(what, ": completing"), /*durable=*/true,
        [&]() -> absl::Status {
          STORE_ASSIGN_OR_RETURN(
              auto complete,
              Statement::Prepare(
                  conn,
                  "UPDATE checkpoints SET state = 2, chunk_count = ?, "
                  "total_bytes = ?, last_chunk_hash = ?, record_hash = ? "
                  "WHERE id = ? AND state = 1"));
          complete->BindInt(1, static_cast<int64_t>(chunk_count));
          complete->BindInt(2, static_cast<int64_t>(payload.size()));
          complete->BindBlob(3, internal::AsBytes(prev));
          complete->BindBlob(4, internal::AsBytes(record));
          complete->BindInt(5, id);
          STORE_RETURN_IF_ERROR(complete->Step(what).status());
          if (sqlite3_changes(conn.db()) != 1) {
            return absl::InternalError(
                absl::StrCat(what, ": its row disappeared while written"));
          }
          STORE_RETURN_IF_ERROR(conn.Exec(
              absl::StrCat("UPDATE checkpoints SET state = 3 WHERE state = 2 "
                           "AND id != ",
                           id),
              what));
          if (base) {
            STORE_RETURN_IF_ERROR(internal::UpdateStoreBase(conn, new_info));
          }
          return absl::OkStatus();
        },
        &ambiguous);
    if (!s.ok()) {
      w.unlock();
      if (!ambiguous) return abandon(s);
      // It may or may not be on disk: write nothing more until reopened.
      {
        std::lock_guard<std::mutex> l(mu);
        failed = s;
      }
      release_base();
      return s;
    }
    if (base) {
      info.base_revision = new_info.base_revision;
      info.base_hash = new_info.base_hash;
      head_hash = chain_head;
      last_revision.store(revision, std::memory_order_release);
      WriteLockRecord();
    }
  }
  checkpoints_written.fetch_add(1);

  absl::Status collected = CollectGarbage(revision);
  if (!collected.ok()) {
    return absl::Status(
        collected.code(),
        absl::StrCat(what,
                     ": the checkpoint is complete, but deleting older data "
                     "failed (retried at the next checkpoint or writable "
                     "open): ",
                     collected.message()));
  }
  return absl::OkStatus();
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
