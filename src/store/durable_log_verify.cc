// Reading and verification: every row read is checked against its hash and
// its chain link before anyone sees it.

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/store/durable_log_internal.h"
#include "src/store/status_macros.h"

namespace arbiter {
namespace store {

using internal::CheckpointMeta;
using internal::Connection;
using internal::Digest;
using internal::Hex;
using internal::LogShape;
using internal::Statement;
using internal::StoreInfo;

namespace internal {

namespace {

std::string Table(const Connection& conn, absl::string_view table) {
  return absl::StrCat(conn.path(), ": table ", table);
}

}  // namespace

absl::StatusOr<std::vector<CheckpointMeta>> ReadCheckpointMetas(
    Connection& conn, const StoreInfo& info) {
  const std::string what = Table(conn, "checkpoints");
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(conn,
                         "SELECT id, revision, state, chain_head, chunk_count, "
                         "total_bytes, last_chunk_hash, record_hash "
                         "FROM checkpoints ORDER BY id"));
  std::vector<CheckpointMeta> out;
  while (true) {
    STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(what));
    if (!row) break;
    CheckpointMeta m;
    m.id = stmt->ColumnInt(0);
    const int64_t revision = stmt->ColumnInt(1);
    m.state = stmt->ColumnInt(2);
    const int64_t chunks = stmt->ColumnInt(4);
    const int64_t bytes = stmt->ColumnInt(5);
    const std::string where = absl::StrCat(what, ", id ", m.id);
    if (revision < 0 || chunks < 0 || bytes < 0 ||
        !DigestFromBytes(stmt->ColumnBlob(3), &m.chain_head)) {
      return absl::DataLossError(absl::StrCat(
          where, ": malformed row (revision ", revision, ", chunk_count ",
          chunks, ", total_bytes ", bytes, ", chain_head of ",
          stmt->ColumnBlob(3).size(), " bytes)"));
    }
    if (m.state != kCheckpointWriting && m.state != kCheckpointComplete &&
        m.state != kCheckpointObsolete) {
      return absl::DataLossError(
          absl::StrCat(where, ": unknown state ", m.state));
    }
    m.revision = static_cast<uint64_t>(revision);
    m.chunk_count = static_cast<uint64_t>(chunks);
    m.total_bytes = static_cast<uint64_t>(bytes);
    m.has_record = !stmt->ColumnIsNull(6) || !stmt->ColumnIsNull(7);
    if (m.has_record &&
        (!DigestFromBytes(stmt->ColumnBlob(6), &m.last_chunk_hash) ||
         !DigestFromBytes(stmt->ColumnBlob(7), &m.record_hash))) {
      return absl::DataLossError(
          absl::StrCat(where, " (revision ", m.revision,
                       "): malformed last_chunk_hash or record_hash"));
    }
    if (m.state == kCheckpointComplete) {
      if (!m.has_record) {
        return absl::DataLossError(
            absl::StrCat(where, " (revision ", m.revision,
                         "): complete but without its record hash"));
      }
      const Digest expected =
          CheckpointRecordHash(info.store_id, m.revision, m.chain_head,
                               m.chunk_count, m.total_bytes, m.last_chunk_hash);
      if (expected != m.record_hash) {
        return absl::DataLossError(absl::StrCat(
            where, " (revision ", m.revision,
            "): the checkpoint record does not match its hash (record_hash "
            "stored ",
            Hex(m.record_hash, 8), "…, computed ", Hex(expected, 8),
            "…): a field was altered"));
      }
    }
    out.push_back(m);
  }
  return out;
}

absl::StatusOr<absl::optional<CheckpointMeta>> LatestComplete(
    const std::string& path, const std::vector<CheckpointMeta>& metas) {
  absl::optional<CheckpointMeta> latest;
  for (const CheckpointMeta& m : metas) {
    if (m.state != kCheckpointComplete) continue;
    if (latest.has_value()) {
      // Completing a checkpoint marks every other one obsolete in the same
      // transaction.
      return absl::DataLossError(absl::StrCat(
          path, ": table checkpoints: two complete checkpoints (ids ",
          latest->id, " and ", m.id, ", revisions ", latest->revision, " and ",
          m.revision, ")"));
    }
    latest = m;
  }
  return latest;
}

absl::Status ReadCheckpointPayload(Connection& conn, const StoreInfo& info,
                                   const CheckpointMeta& meta,
                                   std::string* out) {
  const std::string what =
      absl::StrCat(conn.path(), ": checkpoint at revision ", meta.revision,
                   " (table checkpoint_chunks, checkpoint_id ", meta.id, ")");
  STORE_ASSIGN_OR_RETURN(
      auto stmt, Statement::Prepare(conn,
                                    "SELECT chunk_index, hash, data FROM "
                                    "checkpoint_chunks WHERE checkpoint_id = ? "
                                    "ORDER BY chunk_index"));
  stmt->BindInt(1, meta.id);
  if (out != nullptr) {
    out->clear();
    out->reserve(meta.total_bytes);
  }
  Digest prev = CheckpointSeed(info.store_id, meta.revision, meta.chain_head);
  uint64_t index = 0;
  uint64_t bytes = 0;
  while (true) {
    STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(what));
    if (!row) break;
    const int64_t stored_index = stmt->ColumnInt(0);
    if (stored_index != static_cast<int64_t>(index)) {
      return absl::DataLossError(absl::StrCat(what, ": chunk ", index,
                                              " is missing (found chunk ",
                                              stored_index, " next)"));
    }
    if (index >= meta.chunk_count) {
      return absl::DataLossError(
          absl::StrCat(what, ": chunk ", index,
                       " beyond the recorded chunk_count ", meta.chunk_count));
    }
    Digest stored;
    if (!DigestFromBytes(stmt->ColumnBlob(1), &stored)) {
      return absl::DataLossError(
          absl::StrCat(what, ", chunk ", index, ": malformed hash"));
    }
    absl::string_view data = stmt->ColumnBlob(2);
    const Digest computed = ChunkHash(prev, index, data);
    if (computed != stored) {
      return absl::DataLossError(
          absl::StrCat(what, ", chunk ", index, " (payload bytes ", bytes, "..",
                       bytes + data.size(), "): SHA-256 mismatch (stored ",
                       Hex(stored, 8), "…, computed ", Hex(computed, 8),
                       "…): the chunk or its hash was altered"));
    }
    bytes += data.size();
    if (bytes > meta.total_bytes) {
      return absl::DataLossError(absl::StrCat(
          what, ": chunks hold more than the recorded total_bytes ",
          meta.total_bytes));
    }
    if (out != nullptr) out->append(data.data(), data.size());
    prev = computed;
    ++index;
  }
  if (index != meta.chunk_count || bytes != meta.total_bytes) {
    return absl::DataLossError(absl::StrCat(
        what, ": ", index, " chunks of ", bytes, " bytes, but the record says ",
        meta.chunk_count, " chunks of ", meta.total_bytes,
        " bytes (chunks missing: a truncated checkpoint)"));
  }
  if (prev != meta.last_chunk_hash) {
    return absl::DataLossError(absl::StrCat(
        what, ": the chunk chain ends at ", Hex(prev, 8),
        "…, but the record says ", Hex(meta.last_chunk_hash, 8), "…"));
  }
  return absl::OkStatus();
}

absl::Status VisitEntries(
    Connection& conn, uint64_t after, const Digest& prev, uint64_t last,
    const std::function<absl::Status(const LogEntry&)>& visit,
    Digest* last_hash) {
  const std::string what = Table(conn, "entries");
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(
          conn, last == 0
                    ? "SELECT revision, hash, payload FROM entries WHERE "
                      "revision > ? ORDER BY revision"
                    : "SELECT revision, hash, payload FROM entries WHERE "
                      "revision > ? AND revision <= ? ORDER BY revision"));
  stmt->BindInt(1, static_cast<int64_t>(after));
  if (last != 0) stmt->BindInt(2, static_cast<int64_t>(last));
  Digest chain = prev;
  uint64_t expected = after + 1;
  LogEntry entry;
  while (true) {
    STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(what));
    if (!row) break;
    const int64_t revision = stmt->ColumnInt(0);
    if (revision != static_cast<int64_t>(expected)) {
      return absl::DataLossError(absl::StrCat(
          what, ": revision ", expected,
          " is missing (the next row is revision ", revision, ")"));
    }
    Digest stored;
    if (!internal::DigestFromBytes(stmt->ColumnBlob(1), &stored)) {
      return absl::DataLossError(
          absl::StrCat(what, ", revision ", revision, ": malformed hash (",
                       stmt->ColumnBlob(1).size(), " bytes)"));
    }
    absl::string_view payload = stmt->ColumnBlob(2);
    const Digest computed = EntryHash(chain, expected, payload);
    if (computed != stored) {
      return absl::DataLossError(absl::StrCat(
          what, ", revision ", revision, ": SHA-256 mismatch (stored ",
          Hex(stored, 8), "…, computed ", Hex(computed, 8),
          "…): the payload, the hash or the chain before it was altered"));
    }
    if (visit) {
      entry.revision = expected;
      entry.payload.assign(payload.data(), payload.size());
      STORE_RETURN_IF_ERROR(visit(entry));
    }
    chain = computed;
    ++expected;
  }
  if (last != 0 && expected != last + 1) {
    return absl::DataLossError(
        absl::StrCat(what, ": revisions ", expected, "..", last,
                     " are missing (the log ends at ", expected - 1, ")"));
  }
  if (last_hash != nullptr) *last_hash = chain;
  return absl::OkStatus();
}

absl::StatusOr<absl::optional<Digest>> StoredEntryHash(Connection& conn,
                                                       uint64_t revision) {
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(conn, "SELECT hash FROM entries WHERE revision = ?"));
  stmt->BindInt(1, static_cast<int64_t>(revision));
  STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(Table(conn, "entries")));
  if (!row) return absl::optional<Digest>();
  Digest d;
  if (!DigestFromBytes(stmt->ColumnBlob(0), &d)) {
    return absl::DataLossError(absl::StrCat(
        Table(conn, "entries"), ", revision ", revision, ": malformed hash"));
  }
  return absl::optional<Digest>(d);
}

namespace {

// The latest checkpoint `cp` must not precede the log's base, and one at
// the base must chain to the base hash.
absl::Status CheckCheckpointAgainstBase(
    const std::string& path, const StoreInfo& info,
    const absl::optional<CheckpointMeta>& cp) {
  if (!cp.has_value()) return absl::OkStatus();
  if (cp->revision < info.base_revision) {
    return absl::DataLossError(absl::StrCat(
        path, ": the latest checkpoint is at revision ", cp->revision,
        ", before the log's base revision ", info.base_revision));
  }
  if (cp->revision == info.base_revision && cp->chain_head != info.base_hash) {
    return absl::DataLossError(
        absl::StrCat(path, ": the checkpoint at the base revision ",
                     cp->revision, " does not chain to the store's base hash"));
  }
  return absl::OkStatus();
}

// Continuity of the whole table, cheaply: count == max - min + 1. Sets
// shape's entry_count, first_entry and last_entry.
absl::Status MeasureEntries(Connection& conn, const std::string& entries_table,
                            LogShape* shape) {
  STORE_ASSIGN_OR_RETURN(auto stmt,
                         Statement::Prepare(conn,
                                            "SELECT count(*), min(revision), "
                                            "max(revision) FROM entries"));
  STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(entries_table));
  if (!row) return absl::InternalError("count(*) returned no row");
  const int64_t count = stmt->ColumnInt(0);
  const int64_t min = stmt->ColumnInt(1);
  const int64_t max = stmt->ColumnInt(2);
  if (count > 0 && (min <= 0 || max < min || max - min + 1 != count)) {
    STORE_ASSIGN_OR_RETURN(
        auto gap,
        Statement::Prepare(conn,
                           "SELECT e.revision FROM entries e WHERE "
                           "e.revision > (SELECT min(revision) FROM entries) "
                           "AND NOT EXISTS (SELECT 1 FROM entries p WHERE "
                           "p.revision = e.revision - 1) "
                           "ORDER BY e.revision LIMIT 1"));
    STORE_ASSIGN_OR_RETURN(bool found, gap->Step(entries_table));
    return absl::DataLossError(absl::StrCat(
        entries_table, ": ", count, " rows for revisions ", min, "..", max,
        found
            ? absl::StrCat(": revision ", gap->ColumnInt(0) - 1, " is missing")
            : std::string(": revisions are missing")));
  }
  shape->entry_count = static_cast<uint64_t>(count);
  shape->first_entry = count > 0 ? static_cast<uint64_t>(min) : 0;
  shape->last_entry = count > 0 ? static_cast<uint64_t>(max) : 0;
  return absl::OkStatus();
}

// The entries [first, last] must start right after the base or at most
// right after the checkpoint `cp`, and reach cp; `from_base` says they
// start right after the base.
absl::Status CheckEntryRange(const std::string& entries_table,
                             const StoreInfo& info,
                             const absl::optional<CheckpointMeta>& cp,
                             uint64_t first, uint64_t last, bool from_base) {
  const bool after_checkpoint = cp.has_value() &&
                                first > info.base_revision + 1 &&
                                first <= cp->revision + 1;
  if (!from_base && !after_checkpoint) {
    const uint64_t anchor = cp.has_value() ? cp->revision : info.base_revision;
    return absl::DataLossError(absl::StrCat(
        entries_table, ": entries start at revision ", first,
        " but the log's base is revision ", info.base_revision,
        cp.has_value()
            ? absl::StrCat(" and its latest checkpoint revision ", cp->revision)
            : std::string(" and it has no checkpoint"),
        ": revisions ", anchor + 1, "..", first - 1, " are missing"));
  }
  if (cp.has_value() && cp->revision > last) {
    return absl::DataLossError(absl::StrCat(
        entries_table, ": entries end at revision ", last,
        " before the latest checkpoint's revision ", cp->revision,
        ": revisions ", last + 1, "..", cp->revision, " are missing"));
  }
  return absl::OkStatus();
}

// History before the checkpoint `cp` (kept, or left by an interrupted
// compaction), from entry `first` on: its link to the checkpoint always;
// every row in kFull.
absl::Status VerifyHistoryBeforeCheckpoint(Connection& conn,
                                           const std::string& entries_table,
                                           const StoreInfo& info,
                                           const CheckpointMeta& cp,
                                           uint64_t first, bool from_base,
                                           VerifyLevel level) {
  if (level == VerifyLevel::kFull) {
    Digest start = info.base_hash;
    uint64_t start_revision = info.base_revision;
    if (!from_base) {
      // The oldest row's predecessor was compacted: verify from it on.
      STORE_ASSIGN_OR_RETURN(absl::optional<Digest> h,
                             StoredEntryHash(conn, first));
      start = *h;
      start_revision = first;
    }
    Digest at_checkpoint;
    if (start_revision < cp.revision) {
      STORE_RETURN_IF_ERROR(VisitEntries(conn, start_revision, start,
                                         cp.revision, nullptr, &at_checkpoint));
    } else {
      at_checkpoint = start;
    }
    if (at_checkpoint != cp.chain_head) {
      return absl::DataLossError(
          absl::StrCat(entries_table, ", revision ", cp.revision,
                       ": its hash differs from the chain head recorded by the "
                       "checkpoint at that revision"));
    }
  } else {
    STORE_ASSIGN_OR_RETURN(absl::optional<Digest> h,
                           StoredEntryHash(conn, cp.revision));
    if (!h.has_value() || *h != cp.chain_head) {
      return absl::DataLossError(
          absl::StrCat(entries_table, ", revision ", cp.revision,
                       ": its hash differs from the chain head recorded by the "
                       "checkpoint at that revision"));
    }
  }
  return absl::OkStatus();
}

// The recovery view: every entry after the checkpoint (or the base) up to
// the last one; sets shape's last_hash and last_revision.
absl::Status VerifyRecoveryView(Connection& conn, const StoreInfo& info,
                                const absl::optional<CheckpointMeta>& cp,
                                LogShape* shape) {
  const uint64_t last = shape->last_entry;
  const uint64_t after = cp.has_value() ? cp->revision : info.base_revision;
  const Digest start = cp.has_value() ? cp->chain_head : info.base_hash;
  if (after < last) {
    STORE_RETURN_IF_ERROR(
        VisitEntries(conn, after, start, last, nullptr, &shape->last_hash));
  } else {
    shape->last_hash = start;
  }
  shape->last_revision = last;
  return absl::OkStatus();
}

}  // namespace

// Reads the store's info and checkpoints, then verifies the entries in
// passes: their range, the history up to the checkpoint, the recovery view.
absl::StatusOr<LogShape> VerifyLog(Connection& conn, VerifyLevel level) {
  const std::string& path = conn.path();
  const std::string entries_table = Table(conn, "entries");
  LogShape shape;
  STORE_ASSIGN_OR_RETURN(shape.info, ReadStoreInfo(conn));
  const StoreInfo& info = shape.info;
  STORE_ASSIGN_OR_RETURN(std::vector<CheckpointMeta> metas,
                         ReadCheckpointMetas(conn, info));
  STORE_ASSIGN_OR_RETURN(shape.checkpoint, LatestComplete(path, metas));
  for (const CheckpointMeta& m : metas) {
    if (m.state != kCheckpointComplete) shape.has_garbage = true;
  }
  const absl::optional<CheckpointMeta>& cp = shape.checkpoint;
  STORE_RETURN_IF_ERROR(CheckCheckpointAgainstBase(path, info, cp));
  STORE_RETURN_IF_ERROR(MeasureEntries(conn, entries_table, &shape));

  if (cp.has_value()) {
    STORE_RETURN_IF_ERROR(
        ReadCheckpointPayload(conn, info, *cp, /*out=*/nullptr));
  }

  if (shape.entry_count == 0) {
    shape.last_revision = cp.has_value() ? cp->revision : info.base_revision;
    shape.last_hash = cp.has_value() ? cp->chain_head : info.base_hash;
    return shape;
  }

  const uint64_t first = shape.first_entry;
  const uint64_t last = shape.last_entry;
  if (first <= info.base_revision) {
    return absl::DataLossError(
        absl::StrCat(entries_table, ": revision ", first,
                     " precedes the log's base revision ", info.base_revision));
  }
  const bool from_base = first == info.base_revision + 1;
  STORE_RETURN_IF_ERROR(
      CheckEntryRange(entries_table, info, cp, first, last, from_base));
  if (cp.has_value() && first <= cp->revision) {
    STORE_RETURN_IF_ERROR(VerifyHistoryBeforeCheckpoint(
        conn, entries_table, info, *cp, first, from_base, level));
  }
  STORE_RETURN_IF_ERROR(VerifyRecoveryView(conn, info, cp, &shape));
  return shape;
}

}  // namespace internal

absl::StatusOr<absl::optional<Checkpoint>> DurableLog::LatestCheckpoint() {
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                         impl_->AcquireReader());
  absl::StatusOr<absl::optional<Checkpoint>> result =
      [&]() -> absl::StatusOr<absl::optional<Checkpoint>> {
    STORE_ASSIGN_OR_RETURN(StoreInfo info, internal::ReadStoreInfo(*conn));
    STORE_ASSIGN_OR_RETURN(std::vector<CheckpointMeta> metas,
                           internal::ReadCheckpointMetas(*conn, info));
    STORE_ASSIGN_OR_RETURN(absl::optional<CheckpointMeta> latest,
                           internal::LatestComplete(conn->path(), metas));
    if (!latest.has_value()) return absl::optional<Checkpoint>();
    Checkpoint cp;
    cp.revision = latest->revision;
    STORE_RETURN_IF_ERROR(
        internal::ReadCheckpointPayload(*conn, info, *latest, &cp.payload));
    return absl::optional<Checkpoint>(std::move(cp));
  }();
  impl_->ReleaseReader(std::move(conn));
  return result;
}

absl::Status DurableLog::ReadEntries(
    uint64_t after_revision,
    const std::function<absl::Status(const LogEntry&)>& visit) {
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                         impl_->AcquireReader());
  absl::Status status = [&]() -> absl::Status {
    STORE_ASSIGN_OR_RETURN(StoreInfo info, internal::ReadStoreInfo(*conn));
    if (after_revision < info.base_revision) {
      return absl::OutOfRangeError(absl::StrCat(
          conn->path(), ": the log starts after its base revision ",
          info.base_revision, "; cannot read entries after revision ",
          after_revision, " (read the checkpoint at the base revision)"));
    }
    STORE_ASSIGN_OR_RETURN(std::vector<CheckpointMeta> metas,
                           internal::ReadCheckpointMetas(*conn, info));
    STORE_ASSIGN_OR_RETURN(absl::optional<CheckpointMeta> cp,
                           internal::LatestComplete(conn->path(), metas));
    auto compacted = [&]() {
      return absl::OutOfRangeError(absl::StrCat(
          conn->path(), ": entries after revision ", after_revision,
          " were compacted into the checkpoint at revision ",
          cp.has_value() ? cp->revision : 0,
          " (read from the checkpoint's revision)"));
    };
    STORE_ASSIGN_OR_RETURN(
        auto next_stmt,
        Statement::Prepare(*conn,
                           "SELECT min(revision) FROM entries WHERE "
                           "revision > ?"));
    next_stmt->BindInt(1, static_cast<int64_t>(after_revision));
    STORE_ASSIGN_OR_RETURN(bool has_row, next_stmt->Step(absl::StrCat(
                                             conn->path(), ": table entries")));
    if (!has_row || next_stmt->ColumnIsNull(0)) {
      // Nothing after it in the table: fine unless a checkpoint holds
      // revisions after it.
      if (cp.has_value() && cp->revision > after_revision) return compacted();
      return absl::OkStatus();
    }
    const uint64_t next = static_cast<uint64_t>(next_stmt->ColumnInt(0));
    next_stmt.reset();
    if (next != after_revision + 1 && cp.has_value() &&
        after_revision < cp->revision) {
      return compacted();
    }
    Digest prev;
    STORE_ASSIGN_OR_RETURN(absl::optional<Digest> stored,
                           internal::StoredEntryHash(*conn, after_revision));
    if (stored.has_value()) {
      prev = *stored;
    } else if (after_revision == info.base_revision) {
      prev = info.base_hash;
    } else if (cp.has_value() && cp->revision == after_revision) {
      prev = cp->chain_head;
    } else {
      return compacted();  // the oldest rows of an interrupted compaction
    }
    return internal::VisitEntries(*conn, after_revision, prev, 0, visit,
                                  nullptr);
  }();
  impl_->ReleaseReader(std::move(conn));
  return status;
}

absl::Status DurableLog::Verify() {
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                         impl_->AcquireReader());
  absl::Status status = [&]() -> absl::Status {
    STORE_ASSIGN_OR_RETURN(auto stmt,
                           Statement::Prepare(*conn, "PRAGMA integrity_check"));
    STORE_ASSIGN_OR_RETURN(
        bool row, stmt->Step(absl::StrCat(conn->path(), ": integrity_check")));
    if (!row || stmt->ColumnText(0) != "ok") {
      return absl::DataLossError(absl::StrCat(
          conn->path(), ": SQLite integrity_check: ",
          row ? stmt->ColumnText(0) : absl::string_view("no result")));
    }
    stmt.reset();
    STORE_RETURN_IF_ERROR(internal::CheckSchema(*conn));
    STORE_ASSIGN_OR_RETURN(
        LogShape shape,
        internal::VerifyLog(*conn, internal::VerifyLevel::kFull));
    (void)shape;
    return absl::OkStatus();
  }();
  impl_->ReleaseReader(std::move(conn));
  return status;
}

absl::StatusOr<uint64_t> DurableLog::ReadLastRevision() {
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                         impl_->AcquireReader());
  absl::StatusOr<uint64_t> result = [&]() -> absl::StatusOr<uint64_t> {
    STORE_ASSIGN_OR_RETURN(StoreInfo info, internal::ReadStoreInfo(*conn));
    STORE_ASSIGN_OR_RETURN(
        int64_t max,
        conn->QueryInt("SELECT ifnull(max(revision), 0) FROM entries",
                       absl::StrCat(conn->path(), ": table entries")));
    STORE_ASSIGN_OR_RETURN(
        int64_t cp,
        conn->QueryInt(
            "SELECT ifnull(max(revision), 0) FROM checkpoints WHERE state = 2",
            absl::StrCat(conn->path(), ": table checkpoints")));
    return std::max<uint64_t>({static_cast<uint64_t>(max),
                               static_cast<uint64_t>(cp), info.base_revision});
  }();
  impl_->ReleaseReader(std::move(conn));
  if (result.ok() && impl_->options.read_only) {
    uint64_t seen = impl_->last_revision.load(std::memory_order_acquire);
    while (seen < *result && !impl_->last_revision.compare_exchange_weak(
                                 seen, *result, std::memory_order_acq_rel)) {
    }
  }
  return result;
}

}  // namespace store
}  // namespace arbiter
