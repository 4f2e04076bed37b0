#include "arbiter/policy_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "arbiter/v1/log_record.pb.h"
#include "src/admin/indexed_state.h"
#include "src/admin/refusal.h"
#include "src/admin/transaction.h"
#include "src/compiler/snapshot_builder.h"
#include "src/engine/engine_friend_access.h"

namespace arbiter {

using internal::IndexedState;
using internal::Refuse;
using internal::SnapshotBuilder;
using internal::StateDelta;

struct PolicyStore::Impl {
  PolicyStoreOptions options;
  std::shared_ptr<const Clock> clock;
  absl::Mutex mu;  // serializes writers
  std::unique_ptr<IndexedState> state ABSL_GUARDED_BY(mu);
  EngineHolder holder;
  std::unique_ptr<AuditLog> audit;

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
  if (delta.GrantsOnly()) {
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

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Create(
    v1::PolicySet state, PolicyStoreOptions options,
    absl::Span<const v1::AuditRecord> audit) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options.engine);
  if (!engine.ok()) return engine.status();
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock;
  if (options.audit.clock == nullptr && impl->clock != nullptr) {
    options.audit.clock = impl->clock.get();
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Create(options.audit, audit);
  if (!log.ok()) return log.status();
  impl->audit = std::move(*log);
  impl->options = std::move(options);
  {
    absl::MutexLock lock(&impl->mu);
    impl->state = std::make_unique<IndexedState>(std::move(state));
  }
  if (absl::Status s = impl->holder.Publish(
          std::shared_ptr<const Engine>(*std::move(engine)));
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<PolicyStore>(new PolicyStore(std::move(impl)));
}

absl::StatusOr<AppliedTransaction> PolicyStore::Apply(
    const v1::Transaction& txn) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  const uint64_t revision = s.state->revision();
  if (txn.mutations_size() == 0) {
    return Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                  "mutations: a transaction needs at least one mutation");
  }
  if (static_cast<size_t>(txn.mutations_size()) > s.options.max_mutations) {
    return Refuse(absl::StatusCode::kResourceExhausted, Refusal::kTooLarge,
                  absl::StrCat("mutations: ", txn.mutations_size(),
                               " mutations, more than the limit of ",
                               s.options.max_mutations,
                               " (PolicyStoreOptions::max_mutations)"));
  }
  if (txn.has_expected_revision() && txn.expected_revision() != revision) {
    return Refuse(absl::StatusCode::kAborted, Refusal::kStaleRevision,
                  absl::StrCat("expected_revision: the transaction was made "
                               "against revision ",
                               txn.expected_revision(),
                               "; the store is at revision ", revision));
  }
  const std::shared_ptr<const Engine> engine = s.holder.Get();
  absl::Time now = s.clock != nullptr ? s.clock->Now() : absl::Now();
  if (txn.metadata().has_time()) {
    now = absl::FromUnixSeconds(txn.metadata().time().seconds()) +
          absl::Nanoseconds(txn.metadata().time().nanos());
  }
  const uint64_t next = revision + 1;
  internal::TransactionApplier applier(*s.state, *engine, txn, s.options, now,
                                       next);
  auto& logs = applier.logs();
  if (absl::Status st = applier.ApplyMutations(); !st.ok()) {
    s.Revert(logs, revision);
    return st;
  }
  StateDelta delta = s.state->NetDelta(logs);
  delta.set_revisions(revision, next);
  s.state->SetRevision(next);
  bool incremental = false;
  absl::StatusOr<std::shared_ptr<const Engine>> candidate =
      s.NextEngine(*engine, delta, next, &incremental);
  if (!candidate.ok()) {
    s.Revert(logs, revision);
    return candidate.status();
  }
  if (absl::Status st = applier.CheckResult(**candidate); !st.ok()) {
    s.Revert(logs, revision);
    return st;
  }
  AppliedTransaction applied;
  applied.delta = delta.proto();
  applied.incremental = incremental;
  if (applier.dry_run()) {
    // Nothing changes: the records say what would.
    s.Revert(logs, revision);
    applied.revision = revision;
    applied.audit = std::move(applier.audit());
    return applied;
  }
  absl::StatusOr<AuditBatch> batch =
      s.audit->Prepare(std::move(applier.audit()));
  if (!batch.ok()) {
    s.Revert(logs, revision);
    return batch.status();
  }
  if (s.options.log != nullptr) {
    v1::LogRecord record;
    record.set_revision(next);
    *record.mutable_delta() = delta.proto();
    for (const v1::AuditRecord& r : batch->records()) *record.add_audit() = r;
    std::string bytes;
    record.SerializeToString(&bytes);
    if (absl::Status st = s.options.log->Append(next, std::move(bytes));
        !st.ok()) {
      s.Revert(logs, revision);
      return Refuse(absl::StatusCode::kUnavailable, Refusal::kUnavailable,
                    absl::StrCat("the log could not make revision ", next,
                                 " durable: ", st.message()));
    }
  }
  applied.audit = batch->records();
  if (absl::Status st = s.audit->Commit(*std::move(batch)); !st.ok()) {
    // Under the writer lock the log cannot have moved; fail loudly.
    return absl::InternalError(
        absl::StrCat("audit commit after logging: ", st.message()));
  }
  if (absl::Status st = s.holder.Publish(*candidate); !st.ok()) {
    return absl::InternalError(
        absl::StrCat("publishing revision ", next, ": ", st.message()));
  }
  applied.revision = next;
  return applied;
}

absl::Status PolicyStore::ApplyCommitted(const v1::StateDelta& delta,
                                         std::vector<v1::AuditRecord> audit) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
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
  return impl_->state->state();
}
const AuditLog& PolicyStore::audit_log() const { return *impl_->audit; }

}  // namespace arbiter
