// DurableStore: PolicyStore + DurableLog (arbiter/durable_store.h).
//
// Open reads the recovery view (the latest checkpoint and the entries after
// it, every hash verified by DurableLog), hands it to PolicyStore::Recover
// (one replay into the indexed state, one compile, the audit chain
// verified) and then logs every group of transactions PolicyStore commits
// as consecutive entries of one DurableLog group commit. Checkpoints are
// derived from the disk, not from memory: the background thread reads the
// recovery view again, replays it and writes the image, so that it never
// takes the writer lock or copies the live state, and every checkpoint is
// also a check that the log replays.

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "google/protobuf/util/message_differencer.h"
#include "src/store/durable_store_internal.h"
#include "src/store/policy_codec.h"
#include "src/store/status_macros.h"

namespace arbiter {

using store::DurableLog;
using store::DurableLogOptions;
using store::DurableStoreAccess;
using store::RecoveryView;

namespace {

constexpr absl::Duration kMaxBackoff = absl::Minutes(5);

std::string DatabasePath(const std::string& dir) {
  return absl::StrCat(dir, "/", DurableLog::kDatabaseFile);
}

// `status` with "DIR: what: " in front, its code kept.
absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

}  // namespace

namespace store {

DurableLogOptions LogOptionsFor(const DurableStoreOptions& options) {
  DurableLogOptions lo;
  lo.sync =
      options.sync == StoreSync::kFull ? SyncMode::kFull : SyncMode::kNormal;
  lo.read_only = options.read_only;
  lo.create_if_missing = false;
  lo.keep_compacted_entries = options.keep_log_entries;
  lo.verify_on_open = options.verify_history_on_open
                          ? OpenVerification::kFull
                          : OpenVerification::kRecoveryView;
  lo.quick_check_on_open = options.quick_check_on_open;
  lo.max_entry_bytes = options.max_entry_bytes;
  lo.max_checkpoint_bytes = options.max_checkpoint_bytes;
  lo.busy_timeout_ms = options.busy_timeout_ms;
  lo.max_batch_entries =
      std::max<size_t>(lo.max_batch_entries, options.policy.max_group);
  return lo;
}

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStoreAccess::Open(
    const std::string& dir, DurableStoreOptions options,
    const LogOptionsHook& hook) {
  return OpenImpl(dir, std::move(options), hook, absl::nullopt);
}

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStoreAccess::Create(
    const std::string& dir, v1::PolicySet state, DurableStoreOptions options,
    const LogOptionsHook& hook) {
  if (options.read_only) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": a store cannot be created read-only"));
  }
  return OpenImpl(dir, std::move(options), hook, std::move(state));
}

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStoreAccess::OpenImpl(
    const std::string& dir, DurableStoreOptions options,
    const LogOptionsHook& hook, absl::optional<v1::PolicySet> create) {
  if (options.policy.log != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir,
        ": DurableStoreOptions.policy.log must be null (the store logs "
        "to its directory)"));
  }
  auto impl = std::make_unique<DurableStore::Impl>();
  impl->dir = dir;
  impl->options = options;
  DurableLogOptions lo = LogOptionsFor(options);
  if (hook) hook(&lo);
  lo.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<DurableLog>> log = DurableLog::Open(dir, lo);
  PolicyStoreOptions policy_options = options.policy;
  policy_options.log = impl.get();

  if (create.has_value()) {
    if (log.ok()) {
      // A store left empty by an interrupted Create is completed; one with
      // a state is not replaced.
      STORE_ASSIGN_OR_RETURN(absl::optional<store::Checkpoint> cp,
                             (*log)->LatestCheckpoint());
      if (cp.has_value() || (*log)->last_revision() != 0) {
        return absl::AlreadyExistsError(
            absl::StrCat(DatabasePath(dir),
                         ": the directory holds a store already (at "
                         "revision ",
                         (*log)->last_revision(),
                         "); open it, or remove the directory to start over"));
      }
    } else if (!absl::IsNotFound(log.status())) {
      return log.status();
    }
    const uint64_t revision = create->revision();
    std::string payload = store::EncodeCheckpoint(revision, *create, {});
    // Compiles (InvalidArgument) before anything is written.
    absl::StatusOr<std::unique_ptr<PolicyStore>> policy =
        PolicyStore::Create(*std::move(create), policy_options);
    if (!policy.ok()) {
      return Annotate(policy.status(),
                      absl::StrCat(dir, ": the state to import"));
    }
    if (!log.ok()) {
      lo.create_if_missing = true;
      log = DurableLog::Open(dir, lo);
      if (!log.ok()) return log.status();
    }
    STORE_RETURN_IF_ERROR(
        (*log)->WriteCheckpoint({revision, std::move(payload)}));
    impl->log = *std::move(log);
    impl->policy = *std::move(policy);
    impl->checkpoint_revision = revision;
  } else {
    if (!log.ok()) return log.status();
    STORE_ASSIGN_OR_RETURN(RecoveryView view, store::ReadRecoveryView(**log));
    if (!view.has_checkpoint) {
      if (view.deltas.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            DatabasePath(dir),
            ": the store holds no state: its creation was interrupted "
            "(DurableStore::Create or `arbiter store init` completes it)"));
      }
      return absl::DataLossError(
          absl::StrCat(DatabasePath(dir),
                       ": log entries but no checkpoint to replay them on"));
    }
    const uint64_t revision = view.revision;
    impl->checkpoint_revision = view.checkpoint_revision;
    impl->entries_since_checkpoint = view.deltas.size();
    impl->bytes_since_checkpoint = view.entry_bytes;
    absl::StatusOr<std::unique_ptr<PolicyStore>> policy =
        PolicyStore::Recover(std::move(view.state), std::move(view.deltas),
                             policy_options, view.audit);
    if (!policy.ok()) {
      return Annotate(
          policy.status(),
          absl::StrCat(DatabasePath(dir), ": recovering revision ", revision));
    }
    if ((*policy)->revision() != revision) {
      return absl::DataLossError(
          absl::StrCat(DatabasePath(dir), ": the log replays to revision ",
                       (*policy)->revision(), ", not ", revision));
    }
    impl->log = *std::move(log);
    impl->policy = *std::move(policy);
  }
  if (!options.read_only) {
    impl->StartCheckpointer();
    impl->MaybeRequestCheckpoint();
  }
  return std::unique_ptr<DurableStore>(new DurableStore(std::move(impl)));
}

absl::StatusOr<StoreContents> DurableStoreAccess::Read(
    const std::string& dir, const DurableStoreOptions& options,
    const LogOptionsHook& hook) {
  DurableLogOptions lo = LogOptionsFor(options);
  if (hook) hook(&lo);
  lo.read_only = true;
  lo.create_if_missing = false;
  STORE_ASSIGN_OR_RETURN(std::unique_ptr<DurableLog> log,
                         DurableLog::Open(dir, lo));
  STORE_ASSIGN_OR_RETURN(RecoveryView view, store::ReadRecoveryView(*log));
  if (!view.has_checkpoint) {
    return absl::FailedPreconditionError(absl::StrCat(
        DatabasePath(dir), view.deltas.empty()
                               ? ": the store holds no state: its creation was "
                                 "interrupted"
                               : ": log entries but no checkpoint"));
  }
  const AuditVerification audit = VerifyAuditChain(view.audit);
  if (!audit.ok()) {
    return absl::DataLossError(absl::StrCat(
        DatabasePath(dir),
        ": the audit chain is broken: ", audit.problem->ToString()));
  }
  StoreContents contents;
  contents.revision = view.revision;
  contents.checkpoint_revision = view.checkpoint_revision;
  contents.entries_since_checkpoint = view.deltas.size();
  contents.audit = std::move(view.audit);
  view.audit.clear();
  absl::StatusOr<v1::PolicySet> state = store::ReplayState(std::move(view));
  if (!state.ok()) return Annotate(state.status(), DatabasePath(dir));
  contents.state = *std::move(state);
  return contents;
}

}  // namespace store

// ---- DurableStore::Impl ----------------------------------------------------

DurableStore::Impl::~Impl() {
  StopCheckpointer();
  policy.reset();
  log.reset();
}

absl::Status DurableStore::Impl::Append(uint64_t first_revision,
                                        std::vector<std::string> records) {
  if (options.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": the store is open read-only"));
  }
  if (!diverged.ok()) return diverged;
  for (size_t i = 0; i < records.size(); ++i) {
    // Refused before anything is queued, so a group is never cut short.
    if (records[i].size() > options.max_entry_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir, ": revision ", first_revision + i, ": a log record of ",
          records[i].size(), " bytes exceeds max_entry_bytes (",
          options.max_entry_bytes, ")"));
    }
  }
  const size_t n = records.size();
  uint64_t bytes = 0;
  std::vector<DurableLog::AppendHandle> handles;
  handles.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    bytes += records[i].size();
    handles.push_back(
        log->Enqueue({first_revision + i, std::move(records[i])}));
  }
  size_t committed = 0;
  absl::Status error;
  for (DurableLog::AppendHandle& h : handles) {
    absl::Status s = h.Wait();
    if (s.ok()) {
      ++committed;
    } else if (error.ok()) {
      error = std::move(s);
    }
  }
  if (!error.ok()) {
    if (committed > 0) {
      diverged = absl::UnavailableError(absl::StrCat(
          dir, ": ", committed, " of the ", n,
          " transactions of a group commit reached the log but the others "
          "failed; the store refuses writes until it is reopened"));
    }
    return error;
  }
  {
    std::lock_guard<std::mutex> l(stats_mu);
    entries_since_checkpoint += n;
    bytes_since_checkpoint += bytes;
    ++log_appends;
    transactions_logged += n;
    largest_group = std::max<uint64_t>(largest_group, n);
  }
  MaybeRequestCheckpoint();
  return absl::OkStatus();
}

absl::Status DurableStore::Impl::CheckpointNow() {
  if (options.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": a checkpoint needs the store open for writing"));
  }
  std::lock_guard<std::mutex> one_at_a_time(checkpoint_mu);
  absl::StatusOr<RecoveryView> view = store::ReadRecoveryView(*log);
  absl::Status status = view.status();
  uint64_t revision = 0, entries = 0, bytes = 0;
  if (status.ok()) {
    revision = view->revision;
    entries = view->deltas.size();
    bytes = view->entry_bytes;
    if (view->has_checkpoint && entries == 0) return absl::OkStatus();
    absl::StatusOr<std::string> payload =
        store::ReplayAndEncode(*std::move(view));
    status = payload.ok()
                 ? log->WriteCheckpoint({revision, *std::move(payload)})
                 : Annotate(payload.status(), DatabasePath(dir));
  }
  std::lock_guard<std::mutex> l(stats_mu);
  if (!status.ok()) {
    ++checkpoint_failures;
    last_checkpoint_error = status.ToString();
    return status;
  }
  ++checkpoints_written;
  last_checkpoint_error.clear();
  checkpoint_revision = revision;
  entries_since_checkpoint -= std::min(entries_since_checkpoint, entries);
  bytes_since_checkpoint -= std::min(bytes_since_checkpoint, bytes);
  return absl::OkStatus();
}

void DurableStore::Impl::StartCheckpointer() {
  if (options.checkpoint_after_entries == 0 &&
      options.checkpoint_after_bytes == 0) {
    return;
  }
  bg_thread = std::thread([this] { CheckpointerLoop(); });
}

void DurableStore::Impl::StopCheckpointer() {
  {
    std::lock_guard<std::mutex> l(bg_mu);
    bg_stop = true;
  }
  bg_cv.notify_all();
  if (bg_thread.joinable()) bg_thread.join();
}

void DurableStore::Impl::MaybeRequestCheckpoint() {
  {
    std::lock_guard<std::mutex> l(stats_mu);
    const bool due =
        (options.checkpoint_after_entries > 0 &&
         entries_since_checkpoint >= options.checkpoint_after_entries) ||
        (options.checkpoint_after_bytes > 0 &&
         bytes_since_checkpoint >= options.checkpoint_after_bytes);
    if (!due || absl::Now() < retry_after) return;
  }
  std::lock_guard<std::mutex> l(bg_mu);
  if (!bg_requested && !bg_stop) {
    bg_requested = true;
    bg_cv.notify_one();
  }
}

void DurableStore::Impl::CheckpointerLoop() {
  std::unique_lock<std::mutex> l(bg_mu);
  while (true) {
    bg_cv.wait(l, [this] { return bg_stop || bg_requested; });
    if (bg_stop) return;
    l.unlock();
    const absl::Status s = CheckpointNow();
    {
      // A failing checkpoint (a full disk) is retried later, not at once.
      std::lock_guard<std::mutex> sl(stats_mu);
      if (s.ok()) {
        backoff = absl::Seconds(1);
        retry_after = absl::InfinitePast();
      } else {
        retry_after = absl::Now() + backoff;
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
    }
    l.lock();
    bg_requested = false;
  }
}

absl::Status DurableStore::Impl::Verify() {
  const std::string db = DatabasePath(dir);
  STORE_RETURN_IF_ERROR(log->Verify());
  STORE_ASSIGN_OR_RETURN(RecoveryView view, store::ReadRecoveryView(*log));
  if (!view.has_checkpoint) {
    return absl::DataLossError(absl::StrCat(db, ": no checkpoint"));
  }
  const AuditVerification audit = VerifyAuditChain(view.audit);
  if (!audit.ok()) {
    return absl::DataLossError(absl::StrCat(
        db, ": the audit chain is broken: ", audit.problem->ToString()));
  }
  const uint64_t revision = view.revision;
  view.audit.clear();
  absl::StatusOr<v1::PolicySet> state = store::ReplayState(std::move(view));
  if (!state.ok()) return Annotate(state.status(), db);
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(*state, options.policy.engine);
  if (!engine.ok()) {
    return absl::DataLossError(
        absl::StrCat(db, ": the state at revision ", revision,
                     " does not compile: ", engine.status().message()));
  }
  if (policy->revision() == revision) {
    const v1::PolicySet memory = policy->StateCopy();
    if (memory.revision() == revision &&
        !google::protobuf::util::MessageDifferencer::Equals(memory, *state)) {
      return absl::DataLossError(
          absl::StrCat(db, ": the state on disk at revision ", revision,
                       " differs from the state in memory"));
    }
  }
  return absl::OkStatus();
}

DurableStoreStats DurableStore::Impl::Stats() const {
  DurableStoreStats s;
  s.revision = policy->revision();
  std::lock_guard<std::mutex> l(stats_mu);
  s.checkpoint_revision = checkpoint_revision;
  s.entries_since_checkpoint = entries_since_checkpoint;
  s.bytes_since_checkpoint = bytes_since_checkpoint;
  s.log_appends = log_appends;
  s.transactions_logged = transactions_logged;
  s.largest_group = largest_group;
  s.checkpoints_written = checkpoints_written;
  s.checkpoint_failures = checkpoint_failures;
  s.last_checkpoint_error = last_checkpoint_error;
  return s;
}

// ---- DurableStore ----------------------------------------------------------

DurableStore::DurableStore(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
DurableStore::~DurableStore() = default;

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStore::Open(
    const std::string& dir, DurableStoreOptions options) {
  return DurableStoreAccess::Open(dir, std::move(options), nullptr);
}

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStore::Create(
    const std::string& dir, v1::PolicySet state, DurableStoreOptions options) {
  return DurableStoreAccess::Create(dir, std::move(state), std::move(options),
                                    nullptr);
}

absl::StatusOr<StoreContents> DurableStore::Read(
    const std::string& dir, const DurableStoreOptions& options) {
  return DurableStoreAccess::Read(dir, options, nullptr);
}

absl::StatusOr<AppliedTransaction> DurableStore::Apply(
    const v1::Transaction& transaction) {
  return impl_->policy->Apply(transaction);
}

std::shared_ptr<const Engine> DurableStore::engine() const {
  return impl_->policy->engine();
}
const EngineHolder& DurableStore::holder() const {
  return impl_->policy->holder();
}
uint64_t DurableStore::revision() const { return impl_->policy->revision(); }
v1::PolicySet DurableStore::StateCopy() const {
  return impl_->policy->StateCopy();
}
const AuditLog& DurableStore::audit_log() const {
  return impl_->policy->audit_log();
}
PolicyStore& DurableStore::policy_store() { return *impl_->policy; }

absl::Status DurableStore::Checkpoint() { return impl_->CheckpointNow(); }
absl::Status DurableStore::Verify() { return impl_->Verify(); }
DurableStoreStats DurableStore::stats() const { return impl_->Stats(); }
const std::string& DurableStore::directory() const { return impl_->dir; }
bool DurableStore::read_only() const { return impl_->options.read_only; }

}  // namespace arbiter
