#include "src/replication/etcd_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "arbiter_etcd/log_record.pb.h"
#include "src/replication/etcd_log_format.h"

namespace arbiter {
namespace replication {
namespace {

using log_format::Where;

bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

// The compare that holds iff the head is `head` (absent for 0).
EtcdCompare HeadIs(const std::string& head_key, uint64_t head) {
  if (head == 0) {
    return EtcdCompare::Version(head_key, EtcdCompare::Op::kEqual, 0);
  }
  return EtcdCompare::Value(head_key, EtcdCompare::Op::kEqual,
                            absl::StrCat(head));
}

// Gives up on a write: the last transport error, saying whether an attempt
// may have been applied.
absl::Status GiveUp(absl::string_view prefix, absl::string_view what,
                    const absl::Status& last, bool maybe_applied,
                    absl::Duration timeout) {
  absl::Status result(
      last.code(),
      absl::StrCat(Where(prefix), what, ": no success within ",
                   absl::FormatDuration(timeout),
                   maybe_applied ? " (outcome unknown: an attempt was sent "
                                   "and may have been applied)"
                                 : "",
                   "; last error: ", last.message()));
  if (maybe_applied) {
    // Keep the marker IsEtcdOutcomeUnknown looks for.
    last.ForEachPayload([&](absl::string_view url, const absl::Cord& p) {
      result.SetPayload(url, p);
    });
    if (!IsEtcdOutcomeUnknown(result)) {
      result.SetPayload("arbiter.etcd/outcome-unknown", absl::Cord("1"));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdLog>> EtcdLog::Open(
    std::shared_ptr<EtcdClient> client, Options options) {
  if (client == nullptr) {
    return absl::InvalidArgumentError("etcd log: no client");
  }
  absl::StatusOr<std::string> prefix =
      log_format::NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  options.prefix = *std::move(prefix);
  absl::Status valid = log_format::CheckOptions(options);
  if (!valid.ok()) return valid;
  std::unique_ptr<EtcdLog> log(
      new EtcdLog(std::move(client), std::move(options)));
  absl::StatusOr<EtcdLogHead> head = log->ReadHead();
  if (!head.ok()) return head.status();
  return log;
}

absl::StatusOr<EtcdLogHead> EtcdLog::ReadHead() {
  const std::string& p = options_.prefix;
  EtcdTxn read;
  read.success.push_back(EtcdOp::Get(log_format::HeadKey(p)));
  read.success.push_back(EtcdOp::Get(log_format::CheckpointKey(p)));
  absl::StatusOr<EtcdTxnResult> r = client_->Txn(read);
  if (!r.ok()) return r.status();
  absl::StatusOr<uint64_t> head =
      log_format::ParseHead(p, r->results[0].range.kvs);
  if (!head.ok()) return head.status();
  EtcdLogHead result;
  result.revision = *head;
  result.etcd_revision = r->revision;
  if (!r->results[1].range.kvs.empty()) {
    absl::StatusOr<etcd::CheckpointRecord> cp =
        log_format::ParseCheckpointRecord(p, r->results[1].range.kvs[0]);
    if (!cp.ok()) return cp.status();
    result.checkpoint_revision = cp->revision();
  }
  return result;
}

// ---- Appending
// -----------------------------------------------------------------

struct EtcdLog::Pending {
  uint64_t revision = 0;
  std::string payload;
  bool done = false;
  absl::StatusOr<EtcdAppendResult> result = absl::UnknownError("not done");
};

EtcdLog::EtcdLog(std::shared_ptr<EtcdClient> client, Options options)
    : client_(std::move(client)), options_(std::move(options)) {}

EtcdLog::~EtcdLog() = default;

absl::StatusOr<EtcdAppendResult> EtcdLog::Append(uint64_t expected_head,
                                                 absl::string_view payload) {
  return Enqueue(expected_head + 1, std::string(payload)).Wait();
}

EtcdLog::AppendHandle EtcdLog::Enqueue(uint64_t revision, std::string payload) {
  const std::string& p = options_.prefix;
  auto pending = std::make_shared<Pending>();
  pending->revision = revision;
  const size_t size = payload.size();
  pending->payload = std::move(payload);
  std::lock_guard<std::mutex> lock(mu_);
  if (revision == 0) {
    pending->done = true;
    pending->result = absl::InvalidArgumentError(
        absl::StrCat(Where(p), "entries start at revision 1"));
  } else if (size > options_.max_entry_bytes) {
    pending->done = true;
    pending->result = absl::InvalidArgumentError(absl::StrCat(
        Where(p), "entry ", revision, " of ", size,
        " bytes exceeds max_entry_bytes (", options_.max_entry_bytes, ")"));
  } else if (!queue_.empty() && revision != queue_.back()->revision + 1) {
    pending->done = true;
    pending->result = absl::FailedPreconditionError(absl::StrCat(
        Where(p), "entry ", revision, " does not follow the last queued (",
        queue_.back()->revision, ")"));
  } else {
    queue_.push_back(pending);
  }
  return AppendHandle(this, std::move(pending));
}

absl::StatusOr<EtcdAppendResult> EtcdLog::AppendHandle::Wait() {
  if (log_ == nullptr) {
    return absl::FailedPreconditionError("etcd log: empty AppendHandle");
  }
  return log_->WaitFor(*pending_);
}

uint64_t EtcdLog::AppendHandle::revision() const {
  return pending_ == nullptr ? 0 : pending_->revision;
}

absl::StatusOr<EtcdAppendResult> EtcdLog::WaitFor(Pending& pending) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!pending.done) {
    if (committing_ || queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    // Lead a group: the front of the queue.
    committing_ = true;
    std::vector<std::shared_ptr<Pending>> group;
    while (!queue_.empty() && group.size() < options_.max_batch_entries) {
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    const bool failed = !group.front()->result.ok();
    for (const std::shared_ptr<Pending>& e : group) e->done = true;
    ++stats_.group_commits;
    if (failed) {
      if (absl::IsAborted(group.front()->result.status())) ++stats_.conflicts;
      // Entries queued behind a failed group no longer follow the head.
      for (const std::shared_ptr<Pending>& e : queue_) {
        e->done = true;
        e->result = absl::AbortedError(absl::StrCat(
            Where(options_.prefix), "entry ", e->revision,
            " not appended: the group of revisions ", group.front()->revision,
            "..", group.back()->revision,
            " before it failed: ", group.front()->result.status().message()));
      }
      queue_.clear();
    } else {
      stats_.entries_committed += group.size();
      stats_.largest_group =
          std::max<uint64_t>(stats_.largest_group, group.size());
    }
    committing_ = false;
    cv_.notify_all();
  }
  return pending.result;
}

EtcdLogStats EtcdLog::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

namespace {

// One group commit of CommitGroup: its transaction, the blobs written for
// it, and how it finishes the group's entries.
class GroupCommit {
 public:
  GroupCommit(EtcdClient& client, const EtcdLogOptions& options,
              const std::vector<std::shared_ptr<EtcdLog::Pending>>& group)
      : client_(client),
        options_(options),
        p_(options.prefix),
        group_(group),
        first_(group.front()->revision),
        last_(group.back()->revision),
        expected_head_(first_ - 1),
        what_(first_ == last_
                  ? absl::StrCat("append of revision ", first_)
                  : absl::StrCat("append of revisions ", first_, "..", last_)),
        deadline_(absl::Now() + options.write_timeout),
        writer_id_(options.writer_id_for_test ? options.writer_id_for_test()
                                              : log_format::NewWriterId()),
        head_key_(log_format::HeadKey(p_)),
        first_key_(log_format::LogKey(p_, first_)) {}

  const EtcdTxn& txn() const { return txn_; }
  const std::string& what() const { return what_; }
  absl::Time deadline() const { return deadline_; }

  // Sets every entry's result: its revision at `etcd_revision`, or the error.
  void Finish(const absl::StatusOr<int64_t>& etcd_revision) {
    for (const std::shared_ptr<EtcdLog::Pending>& e : group_) {
      if (etcd_revision.ok()) {
        e->result = EtcdAppendResult{e->revision, *etcd_revision};
      } else {
        e->result = etcd_revision.status();
      }
    }
  }

  // Deletes the blobs written (best effort), then fails the group.
  void Abandon(absl::Status status) {
    for (const std::string& b : blob_prefixes_) {
      log_format::DeleteBlobBestEffort(client_, b);
    }
    Finish(status);
  }

  // Builds the transaction: the head compare, the head put and each entry's
  // record, its payload stored inline while the transaction's inline bytes
  // stay within max_inline_bytes, as chunks (written now, guarded by
  // compares) beyond. The error of a chunk write, to be abandoned.
  absl::Status BuildTxn() {
    txn_.compares.push_back(HeadIs(head_key_, expected_head_));
    txn_.success.push_back(EtcdOp::Put(head_key_, absl::StrCat(last_)));
    size_t inline_bytes = 0;
    for (const std::shared_ptr<EtcdLog::Pending>& e : group_) {
      etcd::LogRecord record;
      record.set_revision(e->revision);
      record.set_writer_id(writer_id_);
      if (inline_bytes + e->payload.size() <= options_.max_inline_bytes) {
        inline_bytes += e->payload.size();
        record.set_payload(e->payload);
      } else {
        blob_prefixes_.push_back(log_format::BlobPrefix(
            log_format::LogChunkDir(p_), e->revision, writer_id_));
        absl::StatusOr<etcd::ChunkedBlob> blob =
            log_format::WriteBlob(client_, blob_prefixes_.back(), e->payload,
                                  options_.chunk_bytes, deadline_);
        if (!blob.ok()) {
          return absl::Status(
              blob.status().code(),
              absl::StrCat(Where(p_), what_, ": ", blob.status().message()));
        }
        for (EtcdCompare& guard : log_format::BlobGuards(*blob)) {
          txn_.compares.push_back(std::move(guard));
        }
        *record.mutable_blob() = *std::move(blob);
      }
      txn_.success.push_back(EtcdOp::Put(log_format::LogKey(p_, e->revision),
                                         record.SerializeAsString()));
    }
    txn_.failure.push_back(EtcdOp::Get(head_key_));
    txn_.failure.push_back(EtcdOp::Get(first_key_));
    return absl::OkStatus();
  }

  // The compare of `r` failed: finishes the group as applied (our own
  // earlier attempt), outcome unknown, or abandoned (chunks removed, a lost
  // race, a malformed head).
  void ResolveCompareFailure(const EtcdTxnResult& r, bool maybe_applied) {
    // Our own earlier attempt, applied after all?
    const std::vector<EtcdKeyValue>& entry = r.results[1].range.kvs;
    if (!entry.empty()) {
      absl::StatusOr<etcd::LogRecord> existing =
          log_format::ParseLogRecord(p_, entry[0]);
      if (existing.ok() && existing->writer_id() == writer_id_) {
        Finish(entry[0].mod_revision);
        return;
      }
    }
    absl::StatusOr<uint64_t> head =
        log_format::ParseHead(p_, r.results[0].range.kvs);
    if (!head.ok()) {
      Abandon(head.status());
      return;
    }
    if (entry.empty() && maybe_applied) {
      // An earlier attempt may have committed and its entry been
      // truncated since by a checkpoint (keep_entries): it cannot be told
      // from a lost race, so it must not be reported as one (a caller
      // would commit the same payload again).
      absl::Status unknown = absl::UnavailableError(absl::StrCat(
          Where(p_), what_,
          ": outcome unknown: an earlier attempt was sent and may have "
          "been applied, and entry ",
          first_, " is gone (truncated by a checkpoint; the head is now ",
          *head, ")"));
      unknown.SetPayload("arbiter.etcd/outcome-unknown", absl::Cord("1"));
      Finish(unknown);  // keeps the blobs an applied attempt may reference
      return;
    }
    if (*head == expected_head_) {
      // Only the chunk guards can have failed: a truncation removed the
      // chunks (they were named for a revision it covered).
      Abandon(absl::AbortedError(absl::StrCat(
          Where(p_), what_,
          ": its chunks were removed by a concurrent checkpoint; retry")));
      return;
    }
    std::string winner;
    if (!entry.empty()) {
      winner = absl::StrCat(" at etcd revision ", entry[0].mod_revision);
    }
    Abandon(absl::AbortedError(absl::StrCat(
        Where(p_), what_, " lost: another writer committed revision ", first_,
        winner, "; the head is now ", *head, " (etcd revision ", r.revision,
        ")")));
  }

 private:
  EtcdClient& client_;
  const EtcdLogOptions& options_;
  const std::string& p_;  // the prefix
  const std::vector<std::shared_ptr<EtcdLog::Pending>>& group_;
  const uint64_t first_;
  const uint64_t last_;
  const uint64_t expected_head_;
  const std::string what_;  // "append of revision(s) ..."
  const absl::Time deadline_;
  const std::string writer_id_;
  const std::string head_key_;
  const std::string first_key_;
  EtcdTxn txn_;
  std::vector<std::string> blob_prefixes_;  // of the blobs written
};

}  // namespace

// Builds the group's transaction (GroupCommit), then sends it, retrying
// transient errors with backoff until the write timeout.
void EtcdLog::CommitGroup(const std::vector<std::shared_ptr<Pending>>& group) {
  const std::string& p = options_.prefix;
  GroupCommit commit(*client_, options_, group);
  absl::Status built = commit.BuildTxn();
  if (!built.ok()) {
    commit.Abandon(std::move(built));
    return;
  }

  bool maybe_applied = false;
  absl::Duration backoff = absl::Milliseconds(10);
  for (;;) {
    absl::StatusOr<EtcdTxnResult> r = client_->Txn(commit.txn());
    if (r.ok() && r->succeeded) {
      commit.Finish(r->revision);
      return;
    }
    if (r.ok()) {
      // The compare failed.
      commit.ResolveCompareFailure(*r, maybe_applied);
      return;
    }
    const absl::Status& s = r.status();
    if (!Transient(s)) {
      // Refused (too large, ...): nothing was applied.
      commit.Abandon(absl::Status(
          s.code(), absl::StrCat(Where(p), commit.what(), ": ", s.message())));
      return;
    }
    maybe_applied = maybe_applied || IsEtcdOutcomeUnknown(s);
    if (absl::Now() + backoff > commit.deadline()) {
      // Keep blobs that may be referenced by an applied attempt.
      commit.Finish(
          GiveUp(p, commit.what(), s, maybe_applied, options_.write_timeout));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.retries;
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
}

absl::StatusOr<int64_t> EtcdLog::WriteCheckpoint(uint64_t revision,
                                                 absl::string_view image) {
  return CommitCheckpoint(revision, image, /*initialize=*/false);
}

absl::StatusOr<int64_t> EtcdLog::Initialize(uint64_t revision,
                                            absl::string_view image) {
  return CommitCheckpoint(revision, image, /*initialize=*/true);
}

absl::StatusOr<int64_t> EtcdLog::CommitCheckpoint(uint64_t revision,
                                                  absl::string_view image,
                                                  bool initialize) {
  const std::string& p = options_.prefix;
  const char* what = initialize ? "initialize" : "checkpoint";
  if (image.size() > options_.max_checkpoint_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(p), what, " at revision ", revision, ": image of ",
                     image.size(), " bytes exceeds max_checkpoint_bytes (",
                     options_.max_checkpoint_bytes, ")"));
  }
  const absl::Time deadline = absl::Now() + options_.write_timeout;
  const std::string head_key = log_format::HeadKey(p);
  const std::string checkpoint_key = log_format::CheckpointKey(p);

  // What the checkpoint replaces, read once: the transaction's compare then
  // guarantees nothing changed in between.
  EtcdTxn read;
  read.success.push_back(EtcdOp::Get(head_key));
  read.success.push_back(EtcdOp::Get(checkpoint_key));
  absl::StatusOr<EtcdTxnResult> current = client_->Txn(read);
  if (!current.ok()) return current.status();
  absl::StatusOr<uint64_t> head =
      log_format::ParseHead(p, current->results[0].range.kvs);
  if (!head.ok()) return head.status();
  const std::vector<EtcdKeyValue>& cp_kvs = current->results[1].range.kvs;
  int64_t cp_mod_revision = 0;
  uint64_t cp_revision = 0;
  if (!cp_kvs.empty()) {
    absl::StatusOr<etcd::CheckpointRecord> cp =
        log_format::ParseCheckpointRecord(p, cp_kvs[0]);
    if (!cp.ok()) return cp.status();
    cp_mod_revision = cp_kvs[0].mod_revision;
    cp_revision = cp->revision();
  }
  if (initialize) {
    if (*head != 0 || !cp_kvs.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          Where(p), "initialize at revision ", revision,
          ": the log is not empty (head ", *head, ", checkpoint ",
          cp_kvs.empty() ? std::string("none") : absl::StrCat(cp_revision),
          ")"));
    }
  } else {
    if (revision > *head) {
      return absl::FailedPreconditionError(
          absl::StrCat(Where(p), "checkpoint at revision ", revision,
                       " is past the head (", *head, ")"));
    }
    if (!cp_kvs.empty() && revision <= cp_revision) {
      return absl::FailedPreconditionError(
          absl::StrCat(Where(p), "checkpoint at revision ", revision,
                       " is not newer than the current checkpoint (revision ",
                       cp_revision, ")"));
    }
  }

  const std::string writer_id = options_.writer_id_for_test
                                    ? options_.writer_id_for_test()
                                    : log_format::NewWriterId();
  const std::string chunk_dir = log_format::CheckpointChunkDir(p);
  etcd::CheckpointRecord record;
  record.set_revision(revision);
  record.set_writer_id(writer_id);
  EtcdTxn txn;
  txn.compares.push_back(EtcdCompare::ModRevision(
      checkpoint_key, EtcdCompare::Op::kEqual, cp_mod_revision));
  if (initialize) txn.compares.push_back(HeadIs(head_key, 0));
  std::string blob_prefix;
  // Older checkpoint chunks end before this key.
  std::string older_chunks_end;
  if (image.size() <= options_.max_inline_bytes) {
    record.set_image(std::string(image));
    older_chunks_end = absl::StrCat(chunk_dir, log_format::Pad20(revision + 1));
  } else {
    blob_prefix = log_format::BlobPrefix(chunk_dir, revision, writer_id);
    absl::StatusOr<etcd::ChunkedBlob> blob = log_format::WriteBlob(
        *client_, blob_prefix, image, options_.chunk_bytes, deadline);
    if (!blob.ok()) {
      log_format::DeleteBlobBestEffort(*client_, blob_prefix);
      return blob.status();
    }
    for (EtcdCompare& guard : log_format::BlobGuards(*blob)) {
      txn.compares.push_back(std::move(guard));
    }
    *record.mutable_blob() = *std::move(blob);
    older_chunks_end = blob_prefix;
  }
  txn.success.push_back(
      EtcdOp::Put(checkpoint_key, record.SerializeAsString()));
  if (initialize && revision > 0) {
    txn.success.push_back(EtcdOp::Put(head_key, absl::StrCat(revision)));
  }
  txn.success.push_back(EtcdOp::Delete(chunk_dir, older_chunks_end));
  if (!initialize && revision > options_.keep_entries) {
    // Entries 1 .. revision - keep_entries, and their chunks.
    const uint64_t first_kept = revision - options_.keep_entries + 1;
    txn.success.push_back(EtcdOp::Delete(log_format::LogDir(p),
                                         log_format::LogKey(p, first_kept)));
    txn.success.push_back(
        EtcdOp::Delete(log_format::LogChunkDir(p),
                       absl::StrCat(log_format::LogChunkDir(p),
                                    log_format::Pad20(first_kept))));
  }
  txn.failure.push_back(EtcdOp::Get(checkpoint_key));

  auto abandon = [&](absl::Status status) -> absl::Status {
    if (!blob_prefix.empty()) {
      log_format::DeleteBlobBestEffort(*client_, blob_prefix);
    }
    return status;
  };
  bool maybe_applied = false;
  absl::Duration backoff = absl::Milliseconds(10);
  for (;;) {
    absl::StatusOr<EtcdTxnResult> r = client_->Txn(txn);
    if (r.ok() && r->succeeded) return r->revision;
    if (r.ok()) {
      const std::vector<EtcdKeyValue>& now = r->results[0].range.kvs;
      if (!now.empty()) {
        absl::StatusOr<etcd::CheckpointRecord> cp =
            log_format::ParseCheckpointRecord(p, now[0]);
        if (cp.ok() && cp->writer_id() == writer_id) {
          return now[0].mod_revision;  // our earlier attempt
        }
        if (cp.ok() && now[0].mod_revision != cp_mod_revision) {
          return abandon(absl::AbortedError(absl::StrCat(
              Where(p), what, " at revision ", revision,
              ": another checkpoint (revision ", cp->revision(),
              ") was committed at etcd revision ", now[0].mod_revision)));
        }
      }
      return abandon(absl::AbortedError(
          absl::StrCat(Where(p), what, " at revision ", revision,
                       ": the log changed meanwhile (etcd revision ",
                       r->revision, "); retry")));
    }
    const absl::Status& s = r.status();
    if (!Transient(s)) {
      return abandon(
          absl::Status(s.code(), absl::StrCat(Where(p), what, " at revision ",
                                              revision, ": ", s.message())));
    }
    maybe_applied = maybe_applied || IsEtcdOutcomeUnknown(s);
    if (absl::Now() + backoff > deadline) {
      return GiveUp(p, absl::StrCat(what, " at revision ", revision), s,
                    maybe_applied, options_.write_timeout);
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
}

}  // namespace replication
}  // namespace arbiter
