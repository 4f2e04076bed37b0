#include "src/replication/etcd_follower.h"

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

// The result of reading the log for a (re-)bootstrap.
struct SnapshotRead {
  EtcdLogSnapshot snapshot;
  // Set when the read was asked to continue after a revision and the log
  // still holds every entry after it: snapshot.entries are exactly those.
  bool continues = false;
};

constexpr size_t kMaxPendingProbes = 16;
constexpr int kSnapshotAttempts = 5;

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdFollower>> EtcdFollower::Create(
    std::shared_ptr<EtcdClient> client, EtcdLogOptions log_options,
    Options options) {
  if (client == nullptr) {
    return absl::InvalidArgumentError("etcd follower: no client");
  }
  absl::StatusOr<std::string> prefix =
      log_format::NormalizePrefix(log_options.prefix);
  if (!prefix.ok()) return prefix.status();
  log_options.prefix = *std::move(prefix);
  absl::Status valid = log_format::CheckOptions(log_options);
  if (!valid.ok()) return valid;
  if (options.max_staleness <= absl::ZeroDuration() ||
      options.probe_interval <= absl::ZeroDuration() ||
      options.probe_timeout <= absl::ZeroDuration() ||
      options.stall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "etcd follower: durations must be positive");
  }
  return std::unique_ptr<EtcdFollower>(new EtcdFollower(
      std::move(client), std::move(log_options), std::move(options)));
}

EtcdFollower::EtcdFollower(std::shared_ptr<EtcdClient> client,
                           EtcdLogOptions log_options, Options options)
    : client_(std::move(client)),
      log_options_(std::move(log_options)),
      options_(std::move(options)) {}

EtcdFollower::~EtcdFollower() { Stop(); }

// ---- Reading the log
// ------------------------------------------------------------

namespace {

// Reads the whole log at one etcd revision. With `continue_after`, tries to
// return the entries after that revision instead of a checkpoint-based
// snapshot (see SnapshotRead).
absl::StatusOr<SnapshotRead> ReadLog(EtcdClient& client,
                                     const EtcdLogOptions& o,
                                     absl::optional<uint64_t> continue_after) {
  const std::string& p = o.prefix;
  absl::Status last;
  for (int attempt = 0; attempt < kSnapshotAttempts; ++attempt) {
    // One linearizable read fixes R; everything else is read as of R.
    EtcdTxn first;
    first.success.push_back(EtcdOp::Get(log_format::CheckpointKey(p)));
    first.success.push_back(EtcdOp::Get(log_format::HeadKey(p)));
    absl::StatusOr<EtcdTxnResult> r = client.Txn(first);
    if (!r.ok()) return r.status();
    const int64_t at = r->revision;
    absl::StatusOr<uint64_t> head =
        log_format::ParseHead(p, r->results[1].range.kvs);
    if (!head.ok()) return head.status();

    SnapshotRead read;
    read.snapshot.etcd_revision = at;
    uint64_t base = 0;  // the checkpoint's revision
    absl::Status compacted;
    if (!r->results[0].range.kvs.empty()) {
      const EtcdKeyValue& kv = r->results[0].range.kvs[0];
      absl::StatusOr<etcd::CheckpointRecord> record =
          log_format::ParseCheckpointRecord(p, kv);
      if (!record.ok()) return record.status();
      if (record->revision() > *head) {
        return absl::DataLossError(absl::StrCat(
            Where(p), "the checkpoint (revision ", record->revision(),
            ") is past the head (", *head, ") at etcd revision ", at));
      }
      EtcdCheckpoint checkpoint;
      checkpoint.revision = record->revision();
      checkpoint.etcd_revision = kv.mod_revision;
      // Read its image only if it will be used.
      const bool need_image =
          !continue_after.has_value() || *continue_after < record->revision();
      if (need_image) {
        if (record->has_blob()) {
          absl::StatusOr<std::string> image = log_format::ReadBlob(
              client, record->blob(), at, o.read_page_chunks,
              absl::StrCat(Where(p), "checkpoint at revision ",
                           record->revision()));
          if (!image.ok()) {
            if (IsEtcdCompacted(image.status())) {
              last = image.status();
              continue;
            }
            return image.status();
          }
          checkpoint.image = *std::move(image);
        } else {
          checkpoint.image = record->image();
        }
      }
      base = record->revision();
      read.snapshot.checkpoint = std::move(checkpoint);
    }

    // Entries from `from` + 1: after the caller's position when it can
    // continue, after the checkpoint otherwise.
    uint64_t from = base;
    if (continue_after.has_value() && *continue_after <= *head) {
      from = *continue_after;
    }
    absl::StatusOr<EtcdRangeResult> kvs = client.RangeAll(
        log_format::LogKey(p, from + 1), PrefixRangeEnd(log_format::LogDir(p)),
        at, o.read_page_entries);
    if (!kvs.ok()) {
      if (IsEtcdCompacted(kvs.status())) {
        last = kvs.status();
        continue;
      }
      return kvs.status();
    }
    // Where the entries start decides which snapshot this is.
    uint64_t first_revision = 0;
    if (!kvs->kvs.empty()) {
      absl::StatusOr<uint64_t> rev =
          log_format::ParseLogKey(p, kvs->kvs[0].key);
      if (!rev.ok()) return rev.status();
      first_revision = *rev;
    }
    read.continues = continue_after.has_value() &&
                     (first_revision == *continue_after + 1 ||
                      (kvs->kvs.empty() && *continue_after == *head));
    const uint64_t expect_first =
        read.continues ? *continue_after + 1 : base + 1;
    uint64_t expected = expect_first;
    for (const EtcdKeyValue& kv : kvs->kvs) {
      absl::StatusOr<etcd::LogRecord> record =
          log_format::ParseLogRecord(p, kv);
      if (!record.ok()) return record.status();
      if (record->revision() < expected) continue;  // kept before the base
      if (record->revision() != expected) {
        return absl::DataLossError(absl::StrCat(
            Where(p), "entry ", expected, " is missing at etcd revision ", at,
            " (the next entry is ", record->revision(), ", the checkpoint is ",
            base, ", the head is ", *head, ")"));
      }
      EtcdLogEntry entry;
      entry.revision = record->revision();
      entry.etcd_revision = kv.mod_revision;
      if (record->has_blob()) {
        absl::StatusOr<std::string> payload = log_format::ReadBlob(
            client, record->blob(), at, o.read_page_chunks,
            absl::StrCat(Where(p), "entry ", record->revision()));
        if (!payload.ok()) {
          if (IsEtcdCompacted(payload.status())) {
            compacted = payload.status();
            break;
          }
          return payload.status();
        }
        entry.payload = *std::move(payload);
      } else {
        entry.payload = record->payload();
      }
      read.snapshot.entries.push_back(std::move(entry));
      ++expected;
    }
    if (!compacted.ok()) {
      last = compacted;
      continue;
    }
    if (expected - 1 != *head) {
      return absl::DataLossError(absl::StrCat(
          Where(p), "the head is ", *head, " but the log ends at revision ",
          expected - 1, " at etcd revision ", at, " (checkpoint ", base, ")"));
    }
    return read;
  }
  return absl::UnavailableError(absl::StrCat(
      Where(p), "etcd compacted the history while the log was read (",
      kSnapshotAttempts, " attempts): ", last.message()));
}

}  // namespace

absl::StatusOr<EtcdLogSnapshot> EtcdFollower::ReadSnapshot() {
  absl::StatusOr<SnapshotRead> read =
      ReadLog(*client_, log_options_, absl::nullopt);
  if (!read.ok()) return read.status();
  return std::move(read->snapshot);
}

absl::StatusOr<EtcdLogSnapshot> EtcdFollower::Bootstrap() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (following_ || stopping_) {
      return absl::FailedPreconditionError(absl::StrCat(
          Where(log_options_.prefix), "Bootstrap after Follow or Stop"));
    }
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<EtcdLogSnapshot> snapshot = ReadSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  std::lock_guard<std::mutex> lock(mu_);
  bootstrapped_ = true;
  revision_ = snapshot->revision();
  applied_etcd_revision_ = snapshot->etcd_revision;
  watch_from_ = snapshot->etcd_revision + 1;
  confirmed_at_ = start;
  pending_probes_.clear();
  return snapshot;
}

// ---- Following
// ------------------------------------------------------------------

absl::Status EtcdFollower::Follow(Callbacks callbacks) {
  if (!callbacks.on_entry || !callbacks.on_reset) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where(log_options_.prefix), "Follow needs on_entry and on_reset"));
  }
  int64_t from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!bootstrapped_ || following_ || stopping_) {
      return absl::FailedPreconditionError(absl::StrCat(
          Where(log_options_.prefix),
          following_ ? "already following" : "Follow needs Bootstrap first"));
    }
    following_ = true;
    from = watch_from_;
  }
  callbacks_ = std::move(callbacks);
  StartWatch(from);
  delivery_ = std::thread([this] { DeliveryLoop(); });
  monitor_ = std::thread([this] { MonitorLoop(); });
  return absl::OkStatus();
}

void EtcdFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(watcher_mu_);
    if (watcher_ != nullptr) watcher_->Cancel();
  }
  if (delivery_.joinable()) delivery_.join();
  if (monitor_.joinable()) monitor_.join();
}

void EtcdFollower::StartWatch(int64_t from_etcd_revision) {
  EtcdWatchOptions options;
  options.key = log_format::LogDir(log_options_.prefix);
  options.range_end = PrefixRangeEnd(options.key);
  options.start_revision = from_etcd_revision;
  std::unique_ptr<EtcdWatcher> fresh = client_->Watch(options);
  std::unique_ptr<EtcdWatcher> old;
  {
    std::lock_guard<std::mutex> lock(watcher_mu_);
    if (watcher_ != nullptr) {
      reconnects_of_old_watchers_ += watcher_->state().reconnects;
    }
    old = std::move(watcher_);
    watcher_ = std::move(fresh);
  }
  // `old` is destroyed here, outside the lock (it drains its stream).
}

void EtcdFollower::DeliveryLoop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    EtcdWatcher* watcher;
    {
      std::lock_guard<std::mutex> lock(watcher_mu_);
      watcher = watcher_.get();
    }
    // Only this thread replaces watcher_, so `watcher` stays valid here.
    EtcdWatchBatch batch;
    absl::Status s =
        watcher->Next(absl::Now() + absl::Milliseconds(200), &batch);
    if (absl::IsDeadlineExceeded(s)) continue;
    if (absl::IsCancelled(s)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      // Cancelled without Stop cannot happen; re-bootstrap to be safe.
    }
    if (s.ok()) s = HandleBatch(batch);
    if (s.ok()) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stats_.fatal_error.ok() || stopping_) return;
    }
    // A compacted watch revision, a gap, a permanent watch error: read the
    // log again (after a pause unless etcd compacted: a permanent watch
    // error would otherwise spin).
    if (!IsEtcdCompacted(s)) {
      std::unique_lock<std::mutex> lock(mu_);
      stats_.last_error = s;
      if (cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.retry_backoff),
                       [&] { return stopping_; })) {
        return;
      }
    }
    if (!Rebootstrap(s.message())) return;
  }
}

absl::Status EtcdFollower::HandleBatch(const EtcdWatchBatch& batch) {
  const std::string& p = log_options_.prefix;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const EtcdWatchEvent& event = batch.events[i];
    if (event.type == EtcdWatchEvent::Type::kDelete) continue;  // truncation
    // A group commit puts several entries at one etcd revision: that
    // revision counts as applied only with its last entry (a batch holds
    // whole revisions).
    const bool revision_complete =
        i + 1 == batch.events.size() ||
        batch.events[i + 1].kv.mod_revision != event.kv.mod_revision;
    absl::StatusOr<uint64_t> revision =
        log_format::ParseLogKey(p, event.kv.key);
    if (!revision.ok()) {
      Fail(revision.status());
      return revision.status();
    }
    uint64_t current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      current = revision_;
      if (*revision <= current) {
        ++stats_.duplicates_skipped;
        continue;
      }
    }
    if (*revision != current + 1) {
      return absl::DataLossError(absl::StrCat(
          Where(p), "watch delivered entry ", *revision, " after ", current,
          " (etcd revision ", event.kv.mod_revision, ")"));
    }
    absl::StatusOr<etcd::LogRecord> record =
        log_format::ParseLogRecord(p, event.kv);
    if (!record.ok()) {
      Fail(record.status());
      return record.status();
    }
    EtcdLogEntry entry;
    entry.revision = *revision;
    entry.etcd_revision = event.kv.mod_revision;
    if (record->has_blob()) {
      // Chunks are read as of the entry's revision (they may be truncated
      // since); transport failures are retried, they do not lose the entry.
      for (;;) {
        absl::StatusOr<std::string> payload = log_format::ReadBlob(
            *client_, record->blob(), event.kv.mod_revision,
            log_options_.read_page_chunks,
            absl::StrCat(Where(p), "entry ", *revision));
        if (payload.ok()) {
          entry.payload = *std::move(payload);
          break;
        }
        if (!Transient(payload.status())) {
          if (!IsEtcdCompacted(payload.status())) Fail(payload.status());
          return payload.status();
        }
        {
          std::unique_lock<std::mutex> lock(mu_);
          stats_.last_error = payload.status();
          if (cv_.wait_for(lock,
                           absl::ToChronoNanoseconds(options_.retry_backoff),
                           [&] { return stopping_; })) {
            return absl::CancelledError("stopping");
          }
        }
      }
    } else {
      entry.payload = record->payload();
    }
    absl::Status delivered = callbacks_.on_entry(entry);
    if (!delivered.ok()) {
      absl::Status fatal(
          delivered.code(),
          absl::StrCat(Where(p), "on_entry for revision ", entry.revision,
                       " failed: ", delivered.message()));
      Fail(fatal);
      return fatal;
    }
    std::lock_guard<std::mutex> lock(mu_);
    Advance(entry.revision, revision_complete ? entry.etcd_revision : 0);
  }
  return absl::OkStatus();
}

bool EtcdFollower::Rebootstrap(absl::string_view why) {
  const std::string& p = log_options_.prefix;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.rebootstraps;
    stats_.last_error = absl::UnavailableError(
        absl::StrCat(Where(p), "re-bootstrapping: ", why));
  }
  for (;;) {
    uint64_t current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      current = revision_;
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<SnapshotRead> read =
        ReadLog(*client_, log_options_, current);
    if (!read.ok()) {
      if (absl::IsDataLoss(read.status())) {
        Fail(read.status());
        return false;
      }
      std::unique_lock<std::mutex> lock(mu_);
      stats_.last_error = read.status();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.retry_backoff),
                   [&] { return stopping_; });
      continue;
    }
    const EtcdLogSnapshot& snapshot = read->snapshot;
    if (snapshot.revision() < current) {
      Fail(absl::DataLossError(absl::StrCat(
          Where(p), "the log went back from revision ", current, " to ",
          snapshot.revision(), " (etcd revision ", snapshot.etcd_revision,
          "): restored from an old backup, or the prefix was deleted?")));
      return false;
    }
    if (read->continues) {
      // The snapshot's etcd revision covers them all; it is applied below,
      // after the last.
      for (const EtcdLogEntry& entry : snapshot.entries) {
        absl::Status delivered = callbacks_.on_entry(entry);
        if (!delivered.ok()) {
          Fail(absl::Status(
              delivered.code(),
              absl::StrCat(Where(p), "on_entry for revision ", entry.revision,
                           " failed: ", delivered.message())));
          return false;
        }
        std::lock_guard<std::mutex> lock(mu_);
        Advance(entry.revision, 0);
      }
    } else {
      absl::Status reset = callbacks_.on_reset(snapshot);
      if (!reset.ok()) {
        Fail(absl::Status(
            reset.code(),
            absl::StrCat(Where(p), "on_reset at revision ", snapshot.revision(),
                         " failed: ", reset.message())));
        return false;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.resets;
      revision_ = snapshot.revision();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The snapshot's first read was linearizable and began at `start`.
      Confirm(Probe{snapshot.revision(), snapshot.etcd_revision, start});
      Advance(revision_, snapshot.etcd_revision);
    }
    StartWatch(snapshot.etcd_revision + 1);
    return true;
  }
}

void EtcdFollower::Advance(uint64_t revision, int64_t etcd_revision) {
  revision_ = std::max(revision_, revision);
  applied_etcd_revision_ = std::max(applied_etcd_revision_, etcd_revision);
  while (!pending_probes_.empty() &&
         pending_probes_.front().head <= revision_) {
    Confirm(pending_probes_.front());
    pending_probes_.pop_front();
  }
  cv_.notify_all();
}

void EtcdFollower::Confirm(const Probe& probe) {
  confirmed_at_ = std::max(confirmed_at_, probe.started);
  applied_etcd_revision_ =
      std::max(applied_etcd_revision_, probe.etcd_revision);
  cv_.notify_all();
}

void EtcdFollower::Fail(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stats_.fatal_error.ok()) stats_.fatal_error = std::move(status);
  }
  cv_.notify_all();
}

// ---- Monitor
// ----------------------------------------------------------------------

void EtcdFollower::MonitorLoop() {
  const std::string& p = log_options_.prefix;
  const std::string head_key = log_format::HeadKey(p);
  int consecutive_failures = 0;
  absl::Time last_stall_reconnect = absl::InfinitePast();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.probe_interval),
                   [&] { return stopping_ || probe_requested_; });
      if (stopping_ || !stats_.fatal_error.ok()) return;
      probe_requested_ = false;
    }
    int endpoint;
    {
      std::lock_guard<std::mutex> lock(watcher_mu_);
      endpoint = watcher_->state().endpoint;
    }
    EtcdCallOptions call;
    call.endpoint = endpoint;
    call.timeout = options_.probe_timeout;
    const absl::Time start = absl::Now();
    absl::StatusOr<EtcdRangeResult> r = client_->Range(head_key, {}, call);
    absl::StatusOr<uint64_t> head = r.ok()
                                        ? log_format::ParseHead(p, r->kvs)
                                        : absl::StatusOr<uint64_t>(r.status());
    std::string reconnect_reason;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.probes;
      if (head.ok()) {
        consecutive_failures = 0;
        Probe probe{*head, r->revision, start};
        if (revision_ >= probe.head) {
          Confirm(probe);
        } else {
          pending_probes_.push_back(probe);
          if (pending_probes_.size() > kMaxPendingProbes) {
            pending_probes_.pop_front();
          }
        }
      } else {
        ++stats_.probe_failures;
        stats_.last_error = head.status();
        if (absl::IsDataLoss(head.status())) {
          stats_.fatal_error = head.status();
          cv_.notify_all();
          return;
        }
        if (++consecutive_failures >= 2) {
          consecutive_failures = 0;
          reconnect_reason = absl::StrCat("two probes failed; last: ",
                                          head.status().message());
        }
      }
      const absl::Time now = absl::Now();
      if (reconnect_reason.empty() && !pending_probes_.empty() &&
          now - pending_probes_.front().started > options_.stall_timeout &&
          now - last_stall_reconnect > options_.stall_timeout) {
        reconnect_reason = absl::StrCat(
            "stalled: revision ", pending_probes_.front().head,
            " was committed ",
            absl::FormatDuration(now - pending_probes_.front().started),
            " ago, delivered up to ", revision_);
        last_stall_reconnect = now;
      }
    }
    if (!reconnect_reason.empty()) {
      std::lock_guard<std::mutex> lock(watcher_mu_);
      watcher_->Reconnect(reconnect_reason);
    }
  }
}

// ---- Queries
// --------------------------------------------------------------------

absl::Status EtcdFollower::StoppedStatus() const {
  if (!stats_.fatal_error.ok()) return stats_.fatal_error;
  if (stopping_) {
    return absl::CancelledError(
        absl::StrCat(Where(log_options_.prefix), "the follower was stopped"));
  }
  return absl::OkStatus();
}

absl::Status EtcdFollower::UnhealthyStatus(absl::Time now) const {
  absl::Status stopped = StoppedStatus();
  if (!stopped.ok()) return stopped;
  if (!bootstrapped_) {
    return absl::FailedPreconditionError(
        absl::StrCat(Where(log_options_.prefix), "not bootstrapped"));
  }
  const absl::Duration age = now - confirmed_at_;
  if (age <= options_.max_staleness) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      Where(log_options_.prefix), "cannot prove it is current: last proof ",
      absl::FormatDuration(age), " ago (limit ",
      absl::FormatDuration(options_.max_staleness), "), delivered revision ",
      revision_, ", applied etcd revision ", applied_etcd_revision_,
      stats_.last_error.ok() ? "" : "; last error: ",
      stats_.last_error.message()));
}

absl::Status EtcdFollower::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return UnhealthyStatus(absl::Now());
}

absl::Status EtcdFollower::WaitFor(int64_t etcd_revision, absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  // A follower that stopped on an error answers nothing, not even old
  // tokens (fail closed).
  if (!stats_.fatal_error.ok()) return stats_.fatal_error;
  if (applied_etcd_revision_ >= etcd_revision) return absl::OkStatus();
  probe_requested_ = true;
  cv_.notify_all();
  const auto chrono_deadline = absl::ToChronoTime(deadline);
  while (applied_etcd_revision_ < etcd_revision) {
    absl::Status stopped = StoppedStatus();
    if (!stopped.ok()) return stopped;
    if (cv_.wait_until(lock, chrono_deadline) == std::cv_status::timeout) break;
  }
  if (applied_etcd_revision_ >= etcd_revision) return absl::OkStatus();
  absl::Status unhealthy = UnhealthyStatus(absl::Now());
  if (!unhealthy.ok()) return unhealthy;
  return absl::DeadlineExceededError(
      absl::StrCat(Where(log_options_.prefix), "etcd revision ", etcd_revision,
                   " not applied by the deadline (applied up to ",
                   applied_etcd_revision_, ")"));
}

absl::Status EtcdFollower::WaitForRevision(uint64_t revision,
                                           absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!stats_.fatal_error.ok()) return stats_.fatal_error;
  if (revision_ >= revision) return absl::OkStatus();
  probe_requested_ = true;
  cv_.notify_all();
  const auto chrono_deadline = absl::ToChronoTime(deadline);
  while (revision_ < revision) {
    absl::Status stopped = StoppedStatus();
    if (!stopped.ok()) return stopped;
    if (cv_.wait_until(lock, chrono_deadline) == std::cv_status::timeout) break;
  }
  if (revision_ >= revision) return absl::OkStatus();
  absl::Status unhealthy = UnhealthyStatus(absl::Now());
  if (!unhealthy.ok()) return unhealthy;
  return absl::DeadlineExceededError(absl::StrCat(
      Where(log_options_.prefix), "revision ", revision,
      " not delivered by the deadline (delivered up to ", revision_, ")"));
}

EtcdFollowerStatus EtcdFollower::status() const {
  EtcdFollowerStatus s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stats_;
    s.following = following_ && !stopping_ && stats_.fatal_error.ok();
    s.revision = revision_;
    s.applied_etcd_revision = applied_etcd_revision_;
    s.confirmed_at = confirmed_at_;
  }
  std::lock_guard<std::mutex> lock(watcher_mu_);
  s.watch_reconnects = reconnects_of_old_watchers_;
  if (watcher_ != nullptr) {
    EtcdWatchState w = watcher_->state();
    s.endpoint = w.endpoint;
    s.watch_connected = w.connected;
    s.watch_reconnects += w.reconnects;
    if (s.last_error.ok()) s.last_error = w.last_error;
  }
  return s;
}

uint64_t EtcdFollower::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

int64_t EtcdFollower::applied_etcd_revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_etcd_revision_;
}

}  // namespace replication
}  // namespace arbiter
