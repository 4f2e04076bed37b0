// ReplicatedStore: a PolicyStore fed by an EtcdFollower and writing through
// an EtcdLog (include/arbiter/replicated_store.h; docs/replication.md,
// "Running many replicas").
//
// Structure. One PolicyStore holds the replica's state; its PolicyLog is the
// etcd log (EtcdPolicyLog), so PolicyStore::Apply validates a group of
// transactions, appends them with one etcd transaction guarded by the head
// and publishes them only once etcd committed them. The follower's delivery
// thread feeds the other replicas' entries to PolicyStore::ApplyCommitted
// (the incremental path). The store's own lock orders the two; an entry the
// store already holds is this replica's own write and is skipped.
//
// write_mu is a reader-writer lock: Apply and the delivery of an entry hold
// it shared; replacing the store (a reset from a checkpoint) and copying it
// for a checkpoint hold it exclusively. A lost race (the append's compare
// failed) is retried after it is released, so that the delivery thread can
// catch the store up.
//
// Readers never take write_mu: they load `published` (an engine and the etcd
// revision its revision was committed at) atomically; it only moves forward.

#include "arbiter/replicated_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "arbiter/v1/log_record.pb.h"
#include "arbiter_replication/state_image.pb.h"
#include "src/admin/refusal.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_follower.h"
#include "src/replication/etcd_log.h"
#include "src/replication/replica_audit.h"

namespace arbiter {
namespace {

using internal::ReplayClock;
using replication::EtcdAppendResult;
using replication::EtcdClient;
using replication::EtcdFollower;
using replication::EtcdLog;
using replication::EtcdLogEntry;
using replication::EtcdLogSnapshot;

constexpr uint32_t kImageFormat = 1;

// What EtcdPolicyLog returns when another replica appended first; Apply
// recognises it in PolicyStore's UNAVAILABLE refusal.
constexpr char kLostRace[] = "another replica appended revision ";

// The etcd revision each log revision was committed at (the last few
// thousand), for Decisions and status. Thread-safe.
class EtcdRevisions {
 public:
  void Set(uint64_t first, uint64_t count, int64_t etcd_revision) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t r = first; r < first + count; ++r) map_[r] = etcd_revision;
    while (map_.size() > kKeep) map_.erase(map_.begin());
  }
  int64_t Get(uint64_t revision) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(revision);
    return it == map_.end() ? 0 : it->second;
  }

 private:
  static constexpr size_t kKeep = 4096;
  mutable std::mutex mu_;
  std::map<uint64_t, int64_t> map_;
};

// The store's log: a group of records is one EtcdLog group commit (one etcd
// transaction, guarded by the head) as long as it has at most
// max_batch_entries records (PolicyStoreOptions::max_group is capped so).
// Called by one group leader at a time.
class EtcdPolicyLog final : public PolicyLog {
 public:
  EtcdPolicyLog(EtcdLog* log, EtcdRevisions* revisions)
      : log_(log), revisions_(revisions) {}

  absl::Status Append(uint64_t first_revision,
                      std::vector<std::string> records) override {
    std::vector<EtcdLog::AppendHandle> handles;
    handles.reserve(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      handles.push_back(
          log_->Enqueue(first_revision + i, std::move(records[i])));
    }
    absl::Status failed;
    int64_t etcd_revision = 0;
    for (EtcdLog::AppendHandle& h : handles) {
      absl::StatusOr<EtcdAppendResult> r = h.Wait();
      if (!r.ok()) {
        if (failed.ok()) failed = r.status();
      } else {
        etcd_revision = r->etcd_revision;
      }
    }
    if (failed.ok()) {
      revisions_->Set(first_revision, handles.size(), etcd_revision);
      return failed;
    }
    // A group is one transaction, so nothing of it committed (or, when etcd
    // could not say, perhaps all of it: the watch then delivers it and the
    // replica applies it like another replica's).
    if (absl::IsAborted(failed)) {
      return absl::AbortedError(absl::StrCat(kLostRace, first_revision,
                                             " first: ", failed.message()));
    }
    return failed;
  }

 private:
  EtcdLog* const log_;
  EtcdRevisions* const revisions_;
};

struct Published {
  std::shared_ptr<const Engine> engine;
  int64_t etcd_revision = 0;
};

absl::Status ToUnavailable(const absl::Status& status,
                           absl::string_view context) {
  return absl::UnavailableError(
      absl::StrCat(context, absl::StatusCodeToString(status.code()), ": ",
                   status.message()));
}

absl::Status CheckOptions(const ReplicatedStoreOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError(
        "ReplicatedStoreOptions.endpoints: at least one etcd member");
  }
  if (options.store.log != nullptr) {
    return absl::InvalidArgumentError(
        "ReplicatedStoreOptions.store.log: must be null (the etcd log is "
        "the store's log)");
  }
  if (!options.store.audit.retain_records) {
    return absl::InvalidArgumentError(
        "ReplicatedStoreOptions.store.audit.retain_records: must be true "
        "(checkpoints carry the audit chain)");
  }
  if (options.conflict_retries < 0) {
    return absl::InvalidArgumentError(
        "ReplicatedStoreOptions.conflict_retries: must not be negative");
  }
  return absl::OkStatus();
}

replication::AuditSettings AuditSettingsOf(const AuditLogOptions& audit) {
  replication::AuditSettings a;
  a.set_checkpoint_interval(audit.checkpoint_interval);
  if (audit.signing_key != nullptr) {
    a.set_signing_key_id(audit.signing_key->key_id());
  }
  return a;
}

std::string KeyText(const std::string& key_id) {
  return key_id.empty() ? std::string("no signing key")
                        : absl::StrCat("signing key ", key_id);
}

replication::EtcdClientOptions ClientOptions(
    const ReplicatedStoreOptions& options) {
  replication::EtcdClientOptions c;
  c.endpoints = options.endpoints;
  c.request_timeout = options.request_timeout;
  return c;
}

replication::EtcdLogOptions LogOptions(const ReplicatedStoreOptions& options) {
  replication::EtcdLogOptions l;
  l.prefix = options.prefix;
  l.write_timeout = options.write_timeout;
  l.keep_entries = options.keep_entries;
  return l;
}

}  // namespace

struct ReplicatedStore::Impl {
  Options options;
  std::string where;  // "replica of /arbiter/acme/: "
  std::shared_ptr<EtcdClient> client;
  std::unique_ptr<EtcdLog> log;
  std::unique_ptr<EtcdFollower> follower;
  std::unique_ptr<ReplayClock> audit_clock;
  std::unique_ptr<internal::ChainTracker> chain_tracker;
  EtcdRevisions etcd_revisions;
  std::unique_ptr<EtcdPolicyLog> policy_log;

  // Shared: Apply, entry delivery. Exclusive: replacing or copying `store`.
  absl::Mutex write_mu;
  // Replaced (atomically) on reset; read atomically by readers.
  std::shared_ptr<PolicyStore> store;
  // What readers answer from; replaced atomically, under publish_mu, by a
  // newer revision only.
  std::mutex publish_mu;
  std::shared_ptr<const Published> published;

  // The delivery thread's: audit records of entries whose group has not
  // ended yet (replica_audit.h), originals and as re-chained.
  std::vector<v1::AuditRecord> pending_audit;
  std::vector<v1::AuditRecord> pending_replay;

  // Set once, when the replica stops on an error.
  std::atomic<bool> has_fatal{false};
  mutable std::mutex fatal_mu;
  absl::Status fatal;

  std::atomic<uint64_t> entries_applied{0};
  std::atomic<uint64_t> own_entries_skipped{0};
  std::atomic<uint64_t> resets{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> conflicts{0};
  std::atomic<uint64_t> stale_refusals{0};
  std::atomic<uint64_t> checkpoints_written{0};
  std::atomic<uint64_t> checkpoint_revision{0};

  // Lookups and Keys, built once per revision.
  mutable std::mutex cache_mu;
  mutable std::shared_ptr<const Lookup> lookup;
  mutable std::shared_ptr<const KeyIndex> keys;

  // The background checkpointer.
  std::mutex cp_mu;
  std::condition_variable cp_cv;
  bool cp_requested = false;
  bool cp_stop = false;
  std::thread cp_thread;

  PolicyStoreOptions StoreOptions() const {
    PolicyStoreOptions o = options.store;
    o.log = policy_log.get();
    o.audit.clock = audit_clock.get();
    o.audit.sink = chain_tracker.get();
    // One group, one etcd transaction.
    o.max_group = std::max<size_t>(
        1, std::min<size_t>(o.max_group, log->options().max_batch_entries));
    return o;
  }

  std::shared_ptr<PolicyStore> Store() const {
    return std::atomic_load(&store);
  }
  std::shared_ptr<const Published> Current() const {
    return std::atomic_load(&published);
  }
  // Publishes the store's current engine if it is newer than the
  // published one.
  void PublishLatest(const PolicyStore& s) {
    std::shared_ptr<const Engine> engine = s.engine();
    std::lock_guard<std::mutex> lock(publish_mu);
    if (published != nullptr &&
        published->engine->revision() >= engine->revision()) {
      return;
    }
    auto p = std::make_shared<Published>();
    p->etcd_revision = etcd_revisions.Get(engine->revision());
    p->engine = std::move(engine);
    std::atomic_store(&published, std::shared_ptr<const Published>(p));
  }
  // After a reset: the store is a new one, at a newer revision.
  void PublishReset(const PolicyStore& s) {
    std::lock_guard<std::mutex> lock(publish_mu);
    auto p = std::make_shared<Published>();
    p->engine = s.engine();
    p->etcd_revision = etcd_revisions.Get(p->engine->revision());
    std::atomic_store(&published, std::shared_ptr<const Published>(p));
  }

  absl::Status Fatal() const {
    std::lock_guard<std::mutex> lock(fatal_mu);
    return fatal;
  }
  void SetFatal(absl::Status status) {
    std::lock_guard<std::mutex> lock(fatal_mu);
    if (fatal.ok()) fatal = std::move(status);
    has_fatal = true;
  }

  absl::StatusOr<v1::LogRecord> Decode(const EtcdLogEntry& entry) const;
  absl::Status ApplyEntry(PolicyStore& s, const EtcdLogEntry& entry);
  absl::StatusOr<std::shared_ptr<PolicyStore>> Build(
      const EtcdLogSnapshot& snapshot);
  absl::Status OnEntry(const EtcdLogEntry& entry);
  absl::Status OnReset(const EtcdLogSnapshot& snapshot);

  absl::Status Health() const;
  absl::Status WaitFor(uint64_t revision, absl::Time deadline) const;
  absl::StatusOr<std::shared_ptr<const Published>> Read(
      const ReadConsistency& consistency) const;

  absl::StatusOr<uint64_t> WriteCheckpoint();
  void RequestCheckpoint();
  void CheckpointLoop();
  void StopCheckpointer();
};

absl::StatusOr<v1::LogRecord> ReplicatedStore::Impl::Decode(
    const EtcdLogEntry& entry) const {
  const std::string at = absl::StrCat(where, "revision ", entry.revision);
  v1::LogRecord record;
  if (!record.ParseFromString(entry.payload)) {
    return absl::DataLossError(
        absl::StrCat(at, ": the entry is not an arbiter.v1.LogRecord"));
  }
  if (record.revision() != entry.revision ||
      record.delta().revision() != entry.revision ||
      record.delta().base_revision() + 1 != entry.revision) {
    return absl::DataLossError(
        absl::StrCat(at, ": the entry says revision ", record.revision(),
                     " (delta ", record.delta().base_revision(), " -> ",
                     record.delta().revision(), ")"));
  }
  return record;
}

// Applies another replica's entry: its delta, and its audit records adopted
// as replica_audit.h describes. FailedPrecondition when the store is no
// longer at the entry's base (this replica's own write got there first).
absl::Status ReplicatedStore::Impl::ApplyEntry(PolicyStore& s,
                                               const EtcdLogEntry& entry) {
  const std::string at = absl::StrCat(where, "revision ", entry.revision);
  absl::StatusOr<v1::LogRecord> record = Decode(entry);
  if (!record.ok()) return record.status();
  std::vector<v1::AuditRecord> audit(record->audit().begin(),
                                     record->audit().end());
  absl::StatusOr<internal::ReplayableAudit> replay =
      internal::PrepareReplay(audit);
  if (!replay.ok()) {
    return absl::DataLossError(
        absl::StrCat(at, ": ", replay.status().message()));
  }
  // Not the end of its group: the records wait for the entry that is.
  std::vector<v1::AuditRecord> batch = pending_replay;
  batch.insert(batch.end(), replay->records.begin(), replay->records.end());
  const bool defer = replay->checkpoint_times.empty() &&
                     chain_tracker->WouldCheckpoint(
                         batch, options.store.audit.checkpoint_interval);
  absl::Status applied;
  {
    ReplayClock::Pin pin(*audit_clock, std::move(replay->checkpoint_times));
    applied =
        s.ApplyCommitted(record->delta(), defer ? std::vector<v1::AuditRecord>{}
                                                : std::move(batch));
  }
  if (!applied.ok()) {
    if (absl::IsFailedPrecondition(applied)) return applied;
    return absl::Status(
        applied.code(),
        absl::StrCat(at, " does not apply to this replica's state: ",
                     applied.message()));
  }
  if (defer) {
    pending_audit.insert(pending_audit.end(), audit.begin(), audit.end());
    pending_replay.insert(pending_replay.end(), replay->records.begin(),
                          replay->records.end());
    return absl::OkStatus();
  }
  pending_audit.insert(pending_audit.end(), audit.begin(), audit.end());
  absl::Status heads =
      internal::CheckAdoptedHeads(s.audit_log(), pending_audit, at);
  pending_audit.clear();
  pending_replay.clear();
  return heads;
}

absl::StatusOr<std::shared_ptr<PolicyStore>> ReplicatedStore::Impl::Build(
    const EtcdLogSnapshot& snapshot) {
  v1::PolicySet state;
  std::vector<v1::AuditRecord> audit;
  if (snapshot.checkpoint.has_value()) {
    replication::StateImage image;
    if (!image.ParseFromString(snapshot.checkpoint->image) ||
        image.format() != kImageFormat) {
      return absl::DataLossError(absl::StrCat(
          where, "the checkpoint at revision ", snapshot.checkpoint->revision,
          " is not a state image of format ", kImageFormat));
    }
    if (image.state().revision() != snapshot.checkpoint->revision) {
      return absl::DataLossError(absl::StrCat(
          where, "the checkpoint at revision ", snapshot.checkpoint->revision,
          " holds a state of revision ", image.state().revision()));
    }
    if (image.has_audit_settings()) {
      const replication::AuditSettings mine =
          AuditSettingsOf(options.store.audit);
      const replication::AuditSettings& log = image.audit_settings();
      if (mine.checkpoint_interval() != log.checkpoint_interval() ||
          mine.signing_key_id() != log.signing_key_id()) {
        return absl::FailedPreconditionError(absl::StrCat(
            where, "the log's audit chain is written with checkpoint_interval ",
            log.checkpoint_interval(), " and ", KeyText(log.signing_key_id()),
            "; this replica has checkpoint_interval ",
            mine.checkpoint_interval(), " and ", KeyText(mine.signing_key_id()),
            " (every replica must chain audit records alike: "
            "ReplicatedStoreOptions.store.audit)"));
      }
    }
    state = std::move(*image.mutable_state());
    audit.assign(image.audit().begin(), image.audit().end());
    etcd_revisions.Set(snapshot.checkpoint->revision, 1,
                       snapshot.checkpoint->etcd_revision);
  }
  std::vector<v1::StateDelta> deltas;
  deltas.reserve(snapshot.entries.size());
  for (const EtcdLogEntry& entry : snapshot.entries) {
    absl::StatusOr<v1::LogRecord> record = Decode(entry);
    if (!record.ok()) return record.status();
    deltas.push_back(std::move(*record->mutable_delta()));
    for (v1::AuditRecord& r : *record->mutable_audit()) {
      audit.push_back(std::move(r));
    }
    etcd_revisions.Set(entry.revision, 1, entry.etcd_revision);
  }
  // The state and the whole chain at once: one compile, the chain verified.
  absl::StatusOr<std::unique_ptr<PolicyStore>> recovered = PolicyStore::Recover(
      std::move(state), std::move(deltas), StoreOptions(), audit);
  if (!recovered.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, "the log up to revision ", snapshot.revision(),
                     " does not load: ", recovered.status().message()));
  }
  chain_tracker->Reset(audit);
  pending_audit.clear();
  pending_replay.clear();
  return std::shared_ptr<PolicyStore>(*std::move(recovered));
}

absl::Status ReplicatedStore::Impl::OnEntry(const EtcdLogEntry& entry) {
  absl::ReaderMutexLock lock(&write_mu);
  if (has_fatal) return Fatal();
  PolicyStore& s = *store;
  etcd_revisions.Set(entry.revision, 1, entry.etcd_revision);
  const uint64_t current = s.revision();
  absl::Status st;
  if (current >= entry.revision) {
    st = absl::FailedPreconditionError("own");
  } else if (current + 1 != entry.revision) {
    st = absl::InternalError(
        absl::StrCat(where, "revision ", entry.revision,
                     " delivered to a replica at revision ", current));
  } else {
    st = ApplyEntry(s, entry);
  }
  if (absl::IsFailedPrecondition(st) && s.revision() >= entry.revision) {
    // This replica's own write: published when it committed (now at the
    // latest, should its Apply not have returned yet).
    ++own_entries_skipped;
    PublishLatest(s);
    return absl::OkStatus();
  }
  if (!st.ok()) {
    SetFatal(st);
    return st;
  }
  PublishLatest(s);
  ++entries_applied;
  return absl::OkStatus();
}

absl::Status ReplicatedStore::Impl::OnReset(const EtcdLogSnapshot& snapshot) {
  absl::MutexLock lock(&write_mu);
  if (has_fatal) return Fatal();
  if (snapshot.checkpoint.has_value()) {
    uint64_t seen = checkpoint_revision.load();
    while (seen < snapshot.checkpoint->revision &&
           !checkpoint_revision.compare_exchange_weak(
               seen, snapshot.checkpoint->revision)) {
    }
  }
  // This replica's own writes may be newer than the snapshot (read while
  // they committed): its state is then already the newer one.
  if (snapshot.revision() <= store->revision()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<PolicyStore>> built = Build(snapshot);
  if (!built.ok()) {
    SetFatal(built.status());
    return built.status();
  }
  std::atomic_store(&store, *built);
  PublishReset(**built);
  ++resets;
  return absl::OkStatus();
}

absl::Status ReplicatedStore::Impl::Health() const {
  if (has_fatal) return Fatal();
  return follower->Health();
}

absl::Status ReplicatedStore::Impl::WaitFor(uint64_t revision,
                                            absl::Time deadline) const {
  if (has_fatal) return Fatal();
  if (Current()->engine->revision() >= revision) return absl::OkStatus();
  absl::Status st = follower->WaitForRevision(revision, deadline);
  if (st.ok()) {
    // The follower advances once the entry's callback returned, which
    // published it (or skipped it: this replica's own, published before).
    if (Current()->engine->revision() >= revision) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(where, "revision ", revision,
                                            " delivered but not published"));
  }
  if (has_fatal) return Fatal();
  return ToUnavailable(
      st, absl::StrCat(where, "revision ", revision,
                       " not received (this replica is at revision ",
                       Current()->engine->revision(), "): "));
}

absl::StatusOr<std::shared_ptr<const Published>> ReplicatedStore::Impl::Read(
    const ReadConsistency& consistency) const {
  if (consistency.min_revision == 0) {
    if (options.fail_closed_when_unhealthy || has_fatal) {
      if (absl::Status h = Health(); !h.ok()) {
        return ToUnavailable(h, absl::StrCat(where, "not current: "));
      }
    }
    return Current();
  }
  if (absl::Status h = Health(); !h.ok()) {
    return ToUnavailable(
        h, absl::StrCat(where, "cannot answer at revision ",
                        consistency.min_revision, " or later: not current: "));
  }
  std::shared_ptr<const Published> p = Current();
  if (p->engine->revision() >= consistency.min_revision) return p;
  const absl::Time deadline =
      absl::Now() + consistency.max_wait.value_or(options.token_wait);
  if (absl::Status st = WaitFor(consistency.min_revision, deadline); !st.ok()) {
    if (absl::IsUnavailable(st)) return st;
    return ToUnavailable(st, "");
  }
  return Current();
}

absl::StatusOr<uint64_t> ReplicatedStore::Impl::WriteCheckpoint() {
  v1::PolicySet state;
  replication::StateImage image;
  {
    absl::MutexLock lock(&write_mu);
    if (has_fatal) return Fatal();
    if (!pending_replay.empty()) {
      // Between two entries of one group: the state holds a delta whose
      // audit records are not chained yet. The next interval will do.
      return absl::UnavailableError(
          absl::StrCat(where, "no checkpoint in the middle of a group"));
    }
    state = store->StateCopy();
    absl::StatusOr<std::vector<v1::AuditRecord>> chain =
        internal::WholeChain(store->audit_log());
    if (!chain.ok()) return chain.status();
    for (v1::AuditRecord& r : *chain) *image.add_audit() = std::move(r);
  }
  const uint64_t revision = state.revision();
  if (revision <= checkpoint_revision.load()) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, "a checkpoint at revision ", checkpoint_revision.load(),
        " exists already (this replica is at revision ", revision, ")"));
  }
  image.set_format(kImageFormat);
  *image.mutable_state() = std::move(state);
  *image.mutable_audit_settings() = AuditSettingsOf(options.store.audit);
  std::string bytes;
  image.SerializeToString(&bytes);
  absl::StatusOr<int64_t> written = log->WriteCheckpoint(revision, bytes);
  if (!written.ok()) {
    // Another replica wrote a newer one meanwhile: learn where it is.
    if (absl::StatusOr<replication::EtcdLogHead> head = log->ReadHead();
        head.ok()) {
      uint64_t seen = checkpoint_revision.load();
      while (seen < head->checkpoint_revision &&
             !checkpoint_revision.compare_exchange_weak(
                 seen, head->checkpoint_revision)) {
      }
    }
    return written.status();
  }
  uint64_t seen = checkpoint_revision.load();
  while (seen < revision &&
         !checkpoint_revision.compare_exchange_weak(seen, revision)) {
  }
  ++checkpoints_written;
  return revision;
}

void ReplicatedStore::Impl::RequestCheckpoint() {
  std::lock_guard<std::mutex> lock(cp_mu);
  cp_requested = true;
  cp_cv.notify_all();
}

void ReplicatedStore::Impl::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(cp_mu);
  while (true) {
    cp_cv.wait(lock, [&] { return cp_requested || cp_stop; });
    if (cp_stop) return;
    cp_requested = false;
    lock.unlock();
    // Failures are not fatal: the next interval (or another replica) tries
    // again, and followers keep reading entries meanwhile.
    (void)WriteCheckpoint();
    lock.lock();
  }
}

void ReplicatedStore::Impl::StopCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(cp_mu);
    cp_stop = true;
    cp_cv.notify_all();
  }
  if (cp_thread.joinable()) cp_thread.join();
}

// ---- ReplicatedStore
// ---------------------------------------------------------

ReplicatedStore::ReplicatedStore(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

ReplicatedStore::~ReplicatedStore() {
  impl_->StopCheckpointer();
  impl_->follower->Stop();
}

absl::StatusOr<int64_t> ReplicatedStore::Initialize(
    const Options& options, const v1::PolicySet& state,
    absl::Span<const v1::AuditRecord> audit) {
  if (absl::Status st = CheckOptions(options); !st.ok()) return st;
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options.store.engine);
  if (!engine.ok()) return engine.status();
  AuditLogOptions audit_options;
  absl::StatusOr<std::unique_ptr<AuditLog>> chain =
      AuditLog::Create(audit_options, audit);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(ClientOptions(options));
  if (!client.ok()) return client.status();
  absl::StatusOr<std::unique_ptr<EtcdLog>> log = EtcdLog::Open(
      std::shared_ptr<EtcdClient>(*std::move(client)), LogOptions(options));
  if (!log.ok()) return log.status();
  replication::StateImage image;
  image.set_format(kImageFormat);
  *image.mutable_state() = state;
  for (const v1::AuditRecord& r : audit) *image.add_audit() = r;
  *image.mutable_audit_settings() = AuditSettingsOf(options.store.audit);
  std::string bytes;
  image.SerializeToString(&bytes);
  return (*log)->Initialize(state.revision(), bytes);
}

absl::StatusOr<std::unique_ptr<ReplicatedStore>> ReplicatedStore::Open(
    Options options) {
  if (absl::Status st = CheckOptions(options); !st.ok()) return st;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const Options& o = impl->options;
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(ClientOptions(o));
  if (!client.ok()) return client.status();
  impl->client = *std::move(client);
  absl::StatusOr<std::unique_ptr<EtcdLog>> log =
      EtcdLog::Open(impl->client, LogOptions(o));
  if (!log.ok()) return log.status();
  impl->log = *std::move(log);
  impl->where = absl::StrCat("replica of ", impl->log->options().prefix, ": ");
  replication::EtcdFollowerOptions follower_options;
  follower_options.max_staleness = o.max_staleness;
  follower_options.probe_interval = o.probe_interval;
  follower_options.probe_timeout = o.probe_timeout;
  follower_options.stall_timeout = o.stall_timeout;
  absl::StatusOr<std::unique_ptr<EtcdFollower>> follower = EtcdFollower::Create(
      impl->client, impl->log->options(), follower_options);
  if (!follower.ok()) return follower.status();
  impl->follower = *std::move(follower);
  impl->audit_clock = std::make_unique<ReplayClock>(
      o.store.audit.clock != nullptr ? o.store.audit.clock
                                     : o.store.clock.get());
  impl->chain_tracker =
      std::make_unique<internal::ChainTracker>(o.store.audit.sink);
  impl->policy_log =
      std::make_unique<EtcdPolicyLog>(impl->log.get(), &impl->etcd_revisions);

  absl::StatusOr<EtcdLogSnapshot> snapshot = impl->follower->Bootstrap();
  if (!snapshot.ok()) return snapshot.status();
  if (!snapshot->checkpoint.has_value() && snapshot->entries.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        impl->where,
        "the log is empty: import a state first (ReplicatedStore::Initialize, "
        "or `arbiter store --etcd ENDPOINTS --prefix PREFIX init STATE`)"));
  }
  if (snapshot->checkpoint.has_value()) {
    impl->checkpoint_revision = snapshot->checkpoint->revision;
  }
  {
    absl::MutexLock lock(&impl->write_mu);
    absl::StatusOr<std::shared_ptr<PolicyStore>> built = impl->Build(*snapshot);
    if (!built.ok()) return built.status();
    std::atomic_store(&impl->store, *built);
    impl->PublishReset(**built);
  }
  Impl* raw = impl.get();
  replication::EtcdFollowerCallbacks callbacks;
  callbacks.on_entry = [raw](const EtcdLogEntry& e) { return raw->OnEntry(e); };
  callbacks.on_reset = [raw](const EtcdLogSnapshot& s) {
    return raw->OnReset(s);
  };
  if (absl::Status st = impl->follower->Follow(std::move(callbacks));
      !st.ok()) {
    return st;
  }
  if (o.checkpoint_interval > 0) {
    impl->cp_thread = std::thread([raw] { raw->CheckpointLoop(); });
  }
  return std::unique_ptr<ReplicatedStore>(new ReplicatedStore(std::move(impl)));
}

absl::StatusOr<ReplicatedWrite> ReplicatedStore::Apply(
    const v1::Transaction& transaction) {
  Impl& s = *impl_;
  const absl::Time deadline = absl::Now() + s.options.apply_timeout;
  if (transaction.has_expected_revision()) {
    // The caller saw that revision (perhaps on another replica): reach it
    // before judging the precondition.
    absl::Status reached = s.WaitFor(transaction.expected_revision(), deadline);
    if (!reached.ok()) {
      if (s.has_fatal) return s.Fatal();
      return internal::Refuse(
          absl::StatusCode::kUnavailable, Refusal::kUnavailable,
          absl::StrCat("expected_revision: ", reached.message()));
    }
  }
  std::string lost;  // why the last attempt lost
  for (int attempt = 1;; ++attempt) {
    uint64_t base = 0;
    {
      absl::ReaderMutexLock lock(&s.write_mu);
      if (s.has_fatal) return s.Fatal();
      PolicyStore& store = *s.store;
      base = store.revision();
      absl::StatusOr<AppliedTransaction> applied = store.Apply(transaction);
      if (applied.ok()) {
        ReplicatedWrite w;
        w.revision = applied->revision;
        w.audit = std::move(applied->audit);
        w.delta = std::move(applied->delta);
        w.incremental = applied->incremental;
        w.attempts = attempt;
        const bool dry_run =
            transaction.mutations_size() == 1 &&
            transaction.mutations(0).has_scim_enforce_groups() &&
            transaction.mutations(0).scim_enforce_groups().dry_run();
        if (dry_run) {  // nothing committed: the records say what would
          w.etcd_revision = s.Current()->etcd_revision;
          return w;
        }
        w.etcd_revision = s.etcd_revisions.Get(applied->revision);
        s.PublishLatest(store);
        ++s.writes;
        if (s.options.checkpoint_interval > 0 &&
            w.revision >=
                s.checkpoint_revision.load() + s.options.checkpoint_interval) {
          s.RequestCheckpoint();
        }
        return w;
      }
      const Refusal refusal = RefusalOf(applied.status());
      const bool lost_race =
          refusal == Refusal::kUnavailable &&
          absl::StrContains(applied.status().message(), kLostRace);
      if (!lost_race) {
        // A refusal judged on this replica's state stands only if that state
        // was the log's head: a replica behind must catch up and judge
        // again (what it refused may be valid on the head).
        const bool state_dependent =
            refusal != Refusal::kNone && refusal != Refusal::kInvalid &&
            refusal != Refusal::kTooLarge && refusal != Refusal::kUnavailable &&
            refusal != Refusal::kStaleRevision;
        if (!state_dependent) return applied.status();
        absl::StatusOr<replication::EtcdLogHead> head = s.log->ReadHead();
        if (!head.ok()) {
          return internal::Refuse(
              absl::StatusCode::kUnavailable, Refusal::kUnavailable,
              absl::StrCat("refused on this replica's state (revision ", base,
                           ", ", applied.status().message(),
                           "), which could not be confirmed current: ",
                           head.status().message()));
        }
        if (head->revision <= base || attempt > s.options.conflict_retries ||
            absl::Now() >= deadline) {
          return applied.status();
        }
        ++s.stale_refusals;
        lost = absl::StrCat("judged on revision ", base, " with the head at ",
                            head->revision, ": ", applied.status().message());
      } else {
        ++s.conflicts;
        lost = std::string(applied.status().message());
      }
    }
    // Another replica committed the revision this transaction was to take
    // (or this replica judged it on a state behind the head); nothing of it
    // was committed or published.
    if (transaction.has_expected_revision()) {
      return internal::Refuse(
          absl::StatusCode::kAborted, Refusal::kStaleRevision,
          absl::StrCat("expected_revision: the transaction was made against "
                       "revision ",
                       transaction.expected_revision(),
                       "; another replica committed revision ",
                       transaction.expected_revision() + 1, " first (", lost,
                       ")"));
    }
    if (attempt > s.options.conflict_retries || absl::Now() >= deadline) {
      return internal::Refuse(
          absl::StatusCode::kAborted, Refusal::kStaleRevision,
          absl::StrCat(s.where, "another replica committed first (", attempt,
                       attempt == 1 ? " attempt" : " attempts",
                       "; last: ", lost, "); nothing was applied: retry"));
    }
    // Catch up with the head (at least the revision lost, which is after
    // `base`), then judge the transaction again.
    uint64_t target = base + 1;
    if (absl::StatusOr<replication::EtcdLogHead> head = s.log->ReadHead();
        head.ok()) {
      target = std::max(target, head->revision);
    }
    if (absl::Status st = s.WaitFor(target, deadline); !st.ok()) {
      if (s.has_fatal) return s.Fatal();
      return internal::Refuse(
          absl::StatusCode::kUnavailable, Refusal::kUnavailable,
          absl::StrCat("lost a race to another replica and could not "
                       "catch up: ",
                       st.message(), " (", lost, ")"));
    }
  }
}

absl::StatusOr<std::shared_ptr<const Engine>> ReplicatedStore::Snapshot(
    const ReadConsistency& consistency) const {
  absl::StatusOr<std::shared_ptr<const Published>> p = impl_->Read(consistency);
  if (!p.ok()) return p.status();
  return (*p)->engine;
}

absl::StatusOr<ReplicatedDecision> ReplicatedStore::Check(
    const AccessRequest& request, const ReadConsistency& consistency) const {
  absl::StatusOr<std::shared_ptr<const Published>> p = impl_->Read(consistency);
  if (!p.ok()) return p.status();
  ReplicatedDecision d;
  d.decision = (*p)->engine->Check(request);
  d.etcd_revision = (*p)->etcd_revision;
  d.engine = (*p)->engine;
  return d;
}

absl::StatusOr<std::shared_ptr<const Lookup>> ReplicatedStore::Lookups(
    const ReadConsistency& consistency) const {
  absl::StatusOr<std::shared_ptr<const Published>> p = impl_->Read(consistency);
  if (!p.ok()) return p.status();
  const uint64_t revision = (*p)->engine->revision();
  {
    std::lock_guard<std::mutex> lock(impl_->cache_mu);
    if (impl_->lookup != nullptr && impl_->lookup->revision() >= revision) {
      return impl_->lookup;
    }
  }
  std::shared_ptr<const Lookup> built = Lookup::Create(*(*p)->engine);
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  if (impl_->lookup == nullptr || impl_->lookup->revision() < revision) {
    impl_->lookup = built;
  }
  return built;
}

absl::StatusOr<std::shared_ptr<const KeyIndex>> ReplicatedStore::Keys(
    const ReadConsistency& consistency) const {
  absl::StatusOr<std::shared_ptr<const Published>> p = impl_->Read(consistency);
  if (!p.ok()) return p.status();
  const uint64_t revision = (*p)->engine->revision();
  {
    std::lock_guard<std::mutex> lock(impl_->cache_mu);
    if (impl_->keys != nullptr && impl_->keys->revision() >= revision) {
      return impl_->keys;
    }
  }
  // The store's state is at least as new as the published engine.
  absl::StatusOr<std::unique_ptr<const KeyIndex>> index =
      KeyIndex::Create(impl_->Store()->StateCopy(), impl_->options.identity);
  if (!index.ok()) return index.status();
  std::shared_ptr<const KeyIndex> built = *std::move(index);
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  if (impl_->keys == nullptr || impl_->keys->revision() < built->revision()) {
    impl_->keys = built;
  }
  return built;
}

absl::Status ReplicatedStore::WaitFor(uint64_t revision,
                                      absl::Time deadline) const {
  return impl_->WaitFor(revision, deadline);
}

absl::Status ReplicatedStore::Health() const { return impl_->Health(); }

ReplicaStatus ReplicatedStore::status() const {
  const Impl& s = *impl_;
  ReplicaStatus out;
  std::shared_ptr<const Published> p = s.Current();
  out.revision = p->engine->revision();
  out.etcd_revision = p->etcd_revision;
  out.health = s.Health();
  const replication::EtcdFollowerStatus f = s.follower->status();
  out.confirmed_at = f.confirmed_at;
  out.watch_reconnects = f.watch_reconnects;
  out.rebootstraps = f.rebootstraps;
  out.endpoint = f.endpoint;
  out.entries_applied = s.entries_applied;
  out.own_entries_skipped = s.own_entries_skipped;
  out.resets = s.resets;
  out.writes = s.writes;
  out.append_transactions = s.log->stats().group_commits;
  out.conflicts = s.conflicts;
  out.stale_refusals = s.stale_refusals;
  out.checkpoints_written = s.checkpoints_written;
  out.checkpoint_revision = s.checkpoint_revision;
  return out;
}

std::shared_ptr<const Engine> ReplicatedStore::engine() const {
  return impl_->Current()->engine;
}

uint64_t ReplicatedStore::revision() const {
  return impl_->Current()->engine->revision();
}

v1::PolicySet ReplicatedStore::StateCopy() const {
  return impl_->Store()->StateCopy();
}

std::string ReplicatedStore::StateDigest() const {
  return PolicyStateDigest(StateCopy());
}

std::vector<v1::AuditRecord> ReplicatedStore::AuditRecords() const {
  absl::MutexLock lock(&impl_->write_mu);
  absl::StatusOr<std::vector<v1::AuditRecord>> chain =
      internal::WholeChain(impl_->store->audit_log());
  return chain.ok() ? *std::move(chain) : std::vector<v1::AuditRecord>{};
}

absl::StatusOr<uint64_t> ReplicatedStore::WriteCheckpoint() {
  return impl_->WriteCheckpoint();
}

}  // namespace arbiter
