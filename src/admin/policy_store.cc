#include "arbiter/policy_store.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "arbiter/v1/log_record.pb.h"
#include "src/admin/indexed_state.h"
#include "src/admin/refusal.h"
#include "src/admin/transaction.h"
#include "src/compiler/snapshot_builder.h"
#include "src/engine/engine_friend_access.h"
#include "src/engine/engine_keys.h"

namespace arbiter {

using internal::IndexedState;
using internal::Refuse;
using internal::SnapshotBuilder;
using internal::StateDelta;

namespace {

// A caller of Apply, queued for group commit (see PolicyStore::Apply).
struct Writer {
  explicit Writer(const v1::Transaction& t) : txn(t) {}
  const v1::Transaction& txn;
  // Set by the group's leader; read by the caller once `done`.
  absl::StatusOr<AppliedTransaction> result =
      absl::InternalError("transaction not applied");
  bool done = false;  // guarded by Impl::queue_mu
  std::condition_variable cv;
};

}  // namespace

struct PolicyStore::Impl {
  PolicyStoreOptions options;
  std::shared_ptr<const Clock> clock;
  absl::Mutex mu;  // serializes writers
  std::unique_ptr<IndexedState> state ABSL_GUARDED_BY(mu);
  EngineHolder holder;
  std::unique_ptr<AuditLog> audit;

  // Group commit: every Apply queues here; the writer at the front leads a
  // group (itself and those queued behind it) through RunGroup while the
  // others wait for their result. (std::mutex: ThreadSanitizer sees it even
  // with an Abseil built without TSan annotations.)
  std::mutex queue_mu;
  std::deque<Writer*> queue;  // guarded by queue_mu

  // A transaction of a group, applied to the state but not yet logged.
  struct Staged {
    Writer* writer = nullptr;
    IndexedState::UndoLog undo;          // reverts it
    StateDelta delta;                    // with its revisions
    std::vector<v1::AuditRecord> audit;  // not yet chained
    std::shared_ptr<const Engine> engine;
    bool incremental = false;
    IdentityOutcome identity;  // keys made (secrets), invitations answered
  };

  // Applies `txn` to the state, whose engine is `base`. Returns true with
  // `staged` filled when the transaction is to be committed; false with
  // `*result` set when it is settled (refused, or a dry run). With
  // `validate_audit`, its audit records are checked on their own, so that
  // a bad one refuses this transaction and not its whole group.
  bool Stage(const v1::Transaction& txn,
             const std::shared_ptr<const Engine>& base, bool validate_audit,
             Staged* staged, absl::StatusOr<AppliedTransaction>* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Applies the writers' transactions in order, logs the ones that pass
  // with one PolicyLog::Append, then commits their audit records and
  // publishes; sets every writer's result.
  void RunGroup(const std::vector<Writer*>& group) ABSL_LOCKS_EXCLUDED(mu);

  // The store's parts over `state` at its revision, its engine compiled and
  // published; the caller sets `state` (the writer's index of it).
  static absl::StatusOr<std::unique_ptr<Impl>> Make(
      const v1::PolicySet& state, PolicyStoreOptions options,
      absl::Span<const v1::AuditRecord> audit);

  // Recover without deltas builds the writer's index of the state on this
  // thread, after the engine is published, so that readers need not wait
  // for it; the first writer (or StateCopy) does, in EnsureState.
  std::thread state_builder;
  std::unique_ptr<IndexedState> built_state;  // set by state_builder
  void EnsureState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (state == nullptr && state_builder.joinable()) {
      state_builder.join();
      state = std::move(built_state);
    }
  }
  ~Impl() {
    if (state_builder.joinable()) state_builder.join();
  }

  // Publishes the state after a change: the base engine's snapshot with
  // `delta` applied when SnapshotBuilder can, else a compile of the state.
  // The state's revision must be `revision` already.
  absl::StatusOr<std::shared_ptr<const Engine>> NextEngine(
      const Engine& base, const StateDelta& delta, uint64_t revision,
      bool* incremental) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  void Revert(std::vector<IndexedState::UndoLog>& logs, uint64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (auto it = logs.rbegin(); it != logs.rend(); ++it) {
      state->Revert(std::move(*it));
    }
    logs.clear();
    state->SetRevision(revision);
  }
};

absl::StatusOr<std::shared_ptr<const Engine>> PolicyStore::Impl::NextEngine(
    const Engine& base, const StateDelta& delta, uint64_t revision,
    bool* incremental) {
  *incremental = false;
  // With strict_grant_rules the §4.3 rules are errors of the compile, which
  // the builder does not judge: such a store publishes by full compile.
  if (delta.GrantsOnly() && !options.engine.strict_grant_rules) {
    absl::StatusOr<std::shared_ptr<const internal::Snapshot>> snapshot =
        SnapshotBuilder::Apply(EngineFriendAccess::State(base), delta);
    if (snapshot.ok() && !SnapshotBuilder::NeedsCompaction(**snapshot)) {
      *incremental = true;
      std::shared_ptr<const internal::Snapshot> next = *std::move(snapshot);
      // Fold the overlays in once Check would pay for them: same lineage.
      if (SnapshotBuilder::NeedsRepack(*next)) {
        next = SnapshotBuilder::Repack(*next);
      }
      return std::shared_ptr<const Engine>(
          EngineFriendAccess::Make(std::move(next), revision));
    }
    // A delta the builder refuses, the compiler judges (with the state's
    // own field paths); one that needs compaction is compiled afresh.
  } else if (internal::EngineKeys::KeysOnly(delta.proto())) {
    // Keys created, revoked or rotated: the same snapshot, its key index
    // updated (src/engine/engine_keys.h). A malformed record is left to the
    // compiler, which names it.
    absl::StatusOr<std::shared_ptr<const Engine>> derived =
        internal::EngineKeys::DeriveEngine(base, state->state(), delta.proto(),
                                           revision);
    if (derived.ok()) {
      *incremental = true;
      return derived;
    }
  }
  absl::StatusOr<std::unique_ptr<const Engine>> compiled =
      Engine::Create(state->state(), options.engine);
  if (!compiled.ok()) {
    return Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalidState,
                  absl::StrCat("the changed state does not compile: ",
                               compiled.status().message()));
  }
  return std::shared_ptr<const Engine>(*std::move(compiled));
}

PolicyStore::PolicyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyStore::~PolicyStore() = default;

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Create(
    v1::PolicySet state, PolicyStoreOptions options) {
  return Create(std::move(state), std::move(options), {});
}

absl::StatusOr<std::unique_ptr<PolicyStore::Impl>> PolicyStore::Impl::Make(
    const v1::PolicySet& state, PolicyStoreOptions options,
    absl::Span<const v1::AuditRecord> audit) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options.engine);
  if (!engine.ok()) return engine.status();
  auto impl = std::make_unique<PolicyStore::Impl>();
  impl->clock = options.clock;
  if (options.audit.clock == nullptr && impl->clock != nullptr) {
    options.audit.clock = impl->clock.get();
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Create(options.audit, audit);
  if (!log.ok()) return log.status();
  impl->audit = std::move(*log);
  impl->options = std::move(options);
  if (absl::Status s = impl->holder.Publish(
          std::shared_ptr<const Engine>(*std::move(engine)));
      !s.ok()) {
    return s;
  }
  return impl;
}

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Create(
    v1::PolicySet state, PolicyStoreOptions options,
    absl::Span<const v1::AuditRecord> audit) {
  auto indexed = std::make_unique<IndexedState>(std::move(state));
  absl::StatusOr<std::unique_ptr<Impl>> impl =
      Impl::Make(indexed->state(), std::move(options), audit);
  if (!impl.ok()) return impl.status();
  {
    absl::MutexLock lock(&(*impl)->mu);
    (*impl)->state = std::move(indexed);
  }
  return std::unique_ptr<PolicyStore>(new PolicyStore(*std::move(impl)));
}

namespace {

// Applies `deltas` to `state` in order, each checked to follow the state's
// revision.
absl::Status ApplyDeltas(std::vector<v1::StateDelta> deltas,
                         IndexedState* state) {
  for (size_t i = 0; i < deltas.size(); ++i) {
    const uint64_t revision = state->revision();
    if (deltas[i].base_revision() != revision ||
        deltas[i].revision() <= revision) {
      return absl::FailedPreconditionError(
          absl::StrCat("deltas[", i, "]: a delta from revision ",
                       deltas[i].base_revision(), " to ", deltas[i].revision(),
                       " does not follow revision ", revision));
    }
    const uint64_t to = deltas[i].revision();
    IndexedState::UndoLog undo;  // never reverted
    if (absl::Status s = state->Apply(StateDelta(std::move(deltas[i])), &undo);
        !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("deltas[", i, "] (revision ", to,
                       "): does not apply to the state: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Recover(
    v1::PolicySet state, std::vector<v1::StateDelta> deltas,
    PolicyStoreOptions options, absl::Span<const v1::AuditRecord> audit) {
  if (deltas.empty()) {
    // Readers need only the engine: the writer's index is built behind it.
    absl::StatusOr<std::unique_ptr<Impl>> impl =
        Impl::Make(state, std::move(options), audit);
    if (!impl.ok()) return impl.status();
    Impl* p = impl->get();
    p->state_builder = std::thread([p, s = std::move(state)]() mutable {
      p->built_state = std::make_unique<IndexedState>(std::move(s));
    });
    return std::unique_ptr<PolicyStore>(new PolicyStore(*std::move(impl)));
  }
  auto indexed = std::make_unique<IndexedState>(std::move(state));
  if (absl::Status s = ApplyDeltas(std::move(deltas), indexed.get()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<Impl>> impl =
      Impl::Make(indexed->state(), std::move(options), audit);
  if (!impl.ok()) return impl.status();
  {
    absl::MutexLock lock(&(*impl)->mu);
    (*impl)->state = std::move(indexed);
  }
  return std::unique_ptr<PolicyStore>(new PolicyStore(*std::move(impl)));
}

absl::StatusOr<v1::PolicySet> PolicyStore::ReplayDeltas(
    v1::PolicySet state, std::vector<v1::StateDelta> deltas) {
  if (deltas.empty()) return state;
  IndexedState indexed(std::move(state));
  if (absl::Status s = ApplyDeltas(std::move(deltas), &indexed); !s.ok()) {
    return s;
  }
  return indexed.state();
}

bool PolicyStore::Impl::Stage(const v1::Transaction& txn,
                              const std::shared_ptr<const Engine>& base,
                              bool validate_audit, Staged* staged,
                              absl::StatusOr<AppliedTransaction>* result) {
  const uint64_t revision = state->revision();
  if (txn.mutations_size() == 0) {
    *result = Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                     "mutations: a transaction needs at least one mutation");
    return false;
  }
  if (static_cast<size_t>(txn.mutations_size()) > options.max_mutations) {
    *result = Refuse(absl::StatusCode::kResourceExhausted, Refusal::kTooLarge,
                     absl::StrCat("mutations: ", txn.mutations_size(),
                                  " mutations, more than the limit of ",
                                  options.max_mutations,
                                  " (PolicyStoreOptions::max_mutations)"));
    return false;
  }
  if (txn.has_expected_revision() && txn.expected_revision() != revision) {
    *result = Refuse(absl::StatusCode::kAborted, Refusal::kStaleRevision,
                     absl::StrCat("expected_revision: the transaction was "
                                  "made against revision ",
                                  txn.expected_revision(),
                                  "; the store is at revision ", revision));
    return false;
  }
  absl::Time now = clock != nullptr ? clock->Now() : absl::Now();
  if (txn.metadata().has_time()) {
    now = absl::FromUnixSeconds(txn.metadata().time().seconds()) +
          absl::Nanoseconds(txn.metadata().time().nanos());
  }
  const uint64_t next = revision + 1;
  internal::TransactionApplier applier(*state, *base, txn, options, now, next);
  auto& logs = applier.logs();
  if (absl::Status st = applier.ApplyMutations(); !st.ok()) {
    Revert(logs, revision);
    *result = st;
    return false;
  }
  StateDelta delta = state->NetDelta(logs);
  delta.set_revisions(revision, next);
  // The state becomes exactly the state before with the delta applied, as
  // a replay of the log (Recover, a replica) rebuilds it: same objects,
  // same order.
  Revert(logs, revision);
  IndexedState::UndoLog undo;
  if (absl::Status st = state->Apply(delta, &undo); !st.ok()) {
    *result = absl::InternalError(absl::StrCat(
        "the transaction's own delta does not apply: ", st.message()));
    return false;
  }
  logs.push_back(std::move(undo));
  bool incremental = false;
  absl::StatusOr<std::shared_ptr<const Engine>> candidate =
      NextEngine(*base, delta, next, &incremental);
  if (!candidate.ok()) {
    Revert(logs, revision);
    *result = candidate.status();
    return false;
  }
  if (absl::Status st = applier.CheckResult(**candidate); !st.ok()) {
    Revert(logs, revision);
    *result = st;
    return false;
  }
  if (applier.dry_run()) {
    // Nothing changes: the records say what would.
    Revert(logs, revision);
    AppliedTransaction applied;
    applied.delta = delta.proto();
    applied.incremental = incremental;
    applied.revision = revision;
    applied.audit = std::move(applier.audit());
    *result = std::move(applied);
    return false;
  }
  if (validate_audit) {
    absl::StatusOr<AuditBatch> alone = audit->Prepare(applier.audit());
    if (!alone.ok()) {
      Revert(logs, revision);
      *result = alone.status();
      return false;
    }
  }
  staged->undo = std::move(logs.back());
  logs.clear();
  staged->delta = std::move(delta);
  staged->audit = std::move(applier.audit());
  staged->engine = *std::move(candidate);
  staged->incremental = incremental;
  staged->identity = std::move(applier.identity());
  return true;
}

void PolicyStore::Impl::RunGroup(const std::vector<Writer*>& group) {
  absl::MutexLock lock(&mu);
  EnsureState();
  const uint64_t base_revision = state->revision();
  std::shared_ptr<const Engine> engine = holder.Get();
  std::vector<Staged> staged;
  staged.reserve(group.size());
  for (Writer* w : group) {
    Staged st;
    if (Stage(w->txn, engine, group.size() > 1, &st, &w->result)) {
      st.writer = w;
      engine = st.engine;
      staged.push_back(std::move(st));
    }
  }
  if (staged.empty()) return;
  auto revert_all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (auto it = staged.rbegin(); it != staged.rend(); ++it) {
      state->Revert(std::move(it->undo));
    }
    state->SetRevision(base_revision);
  };
  // One chained batch for the group's records, in order.
  std::vector<size_t> counts;
  std::vector<v1::AuditRecord> records;
  for (Staged& st : staged) {
    counts.push_back(st.audit.size());
    for (v1::AuditRecord& r : st.audit) records.push_back(std::move(r));
  }
  absl::StatusOr<AuditBatch> batch = audit->Prepare(std::move(records));
  if (!batch.ok()) {
    revert_all();
    for (Staged& st : staged) st.writer->result = batch.status();
    return;
  }
  // Each transaction's chained records; the checkpoints the batch ends with
  // go with the last.
  std::vector<std::vector<v1::AuditRecord>> chained(staged.size());
  {
    const std::vector<v1::AuditRecord>& all = batch->records();
    size_t at = 0;
    for (size_t i = 0; i < staged.size(); ++i) {
      chained[i].assign(all.begin() + at, all.begin() + at + counts[i]);
      at += counts[i];
    }
    chained.back().insert(chained.back().end(), all.begin() + at, all.end());
  }
  if (options.log != nullptr) {
    std::vector<std::string> encoded;
    encoded.reserve(staged.size());
    for (size_t i = 0; i < staged.size(); ++i) {
      v1::LogRecord record;
      record.set_revision(staged[i].delta.revision());
      *record.mutable_delta() = staged[i].delta.proto();
      for (const v1::AuditRecord& r : chained[i]) *record.add_audit() = r;
      encoded.push_back(record.SerializeAsString());
    }
    if (absl::Status st =
            options.log->Append(base_revision + 1, std::move(encoded));
        !st.ok()) {
      revert_all();
      for (Staged& s : staged) {
        s.writer->result = Refuse(
            absl::StatusCode::kUnavailable, Refusal::kUnavailable,
            absl::StrCat("the log could not make revision ", s.delta.revision(),
                         " durable: ", st.message()));
      }
      return;
    }
  }
  if (absl::Status st = audit->Commit(*std::move(batch)); !st.ok()) {
    // Under the writer lock the log cannot have moved; fail loudly.
    for (Staged& s : staged) {
      s.writer->result = absl::InternalError(
          absl::StrCat("audit commit after logging: ", st.message()));
    }
    return;
  }
  if (absl::Status st = holder.Publish(staged.back().engine); !st.ok()) {
    for (Staged& s : staged) {
      s.writer->result = absl::InternalError(
          absl::StrCat("publishing revision ", staged.back().delta.revision(),
                       ": ", st.message()));
    }
    return;
  }
  for (size_t i = 0; i < staged.size(); ++i) {
    AppliedTransaction applied;
    applied.revision = staged[i].delta.revision();
    applied.audit = std::move(chained[i]);
    applied.delta = staged[i].delta.proto();
    applied.incremental = staged[i].incremental;
    applied.identity = std::move(staged[i].identity);
    staged[i].writer->result = std::move(applied);
  }
}

absl::StatusOr<AppliedTransaction> PolicyStore::Apply(
    const v1::Transaction& txn) {
  Impl& s = *impl_;
  Writer self(txn);
  std::unique_lock<std::mutex> queue_lock(s.queue_mu);
  s.queue.push_back(&self);
  self.cv.wait(queue_lock,
               [&] { return self.done || s.queue.front() == &self; });
  if (self.done) return std::move(self.result);
  // This thread leads a group: itself and the writers queued behind it.
  const size_t max_group =
      s.options.log != nullptr ? std::max<size_t>(1, s.options.max_group) : 1;
  std::vector<Writer*> group;
  size_t mutations = 0;
  for (Writer* w : s.queue) {
    const size_t n = static_cast<size_t>(w->txn.mutations_size());
    if (group.size() == max_group ||
        (!group.empty() && mutations + n > s.options.max_mutations)) {
      break;
    }
    group.push_back(w);
    mutations += n;
  }
  queue_lock.unlock();
  s.RunGroup(group);
  queue_lock.lock();
  // Notified under the lock: a woken writer returns and destroys its cv.
  for (Writer* w : group) {
    s.queue.pop_front();
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!s.queue.empty()) s.queue.front()->cv.notify_one();
  return std::move(self.result);
}

absl::Status PolicyStore::ApplyCommitted(const v1::StateDelta& delta,
                                         std::vector<v1::AuditRecord> audit) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  s.EnsureState();
  const uint64_t revision = s.state->revision();
  if (delta.base_revision() != revision || delta.revision() <= revision) {
    return absl::FailedPreconditionError(
        absl::StrCat("a delta from revision ", delta.base_revision(), " to ",
                     delta.revision(), " does not follow revision ", revision));
  }
  const StateDelta d(delta);
  std::vector<IndexedState::UndoLog> logs(1);
  if (absl::Status st = s.state->Apply(d, &logs[0]); !st.ok()) return st;
  const std::shared_ptr<const Engine> engine = s.holder.Get();
  bool incremental = false;
  absl::StatusOr<std::shared_ptr<const Engine>> next =
      s.NextEngine(*engine, d, delta.revision(), &incremental);
  if (!next.ok()) {
    s.Revert(logs, revision);
    return next.status();
  }
  if (!audit.empty()) {
    absl::StatusOr<AuditBatch> batch = s.audit->Prepare(std::move(audit));
    if (!batch.ok()) {
      s.Revert(logs, revision);
      return batch.status();
    }
    if (absl::Status st = s.audit->Commit(*std::move(batch)); !st.ok()) {
      s.Revert(logs, revision);
      return st;
    }
  }
  return s.holder.Publish(*next);
}

std::shared_ptr<const Engine> PolicyStore::engine() const {
  return impl_->holder.Get();
}
const EngineHolder& PolicyStore::holder() const { return impl_->holder; }
uint64_t PolicyStore::revision() const {
  return impl_->holder.Get()->revision();
}
v1::PolicySet PolicyStore::StateCopy() const {
  absl::MutexLock lock(&impl_->mu);
  impl_->EnsureState();
  return impl_->state->state();
}
const AuditLog& PolicyStore::audit_log() const { return *impl_->audit; }

}  // namespace arbiter
