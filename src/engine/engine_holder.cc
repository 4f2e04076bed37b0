#include "arbiter/engine_holder.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace arbiter {

EngineHolder::EngineHolder(std::shared_ptr<const Engine> initial,
                           Options options)
    : options_(options), current_(std::move(initial)) {}

absl::Status EngineHolder::CheckRevision(uint64_t revision) const {
  if (current_ == nullptr || options_.allow_rollback ||
      revision > current_->revision()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "revision ", revision, " is not newer than the current revision ",
      current_->revision(),
      ": refusing to replace it (a rollback could undo a revocation; "
      "EngineHolder::Options::allow_rollback permits it)"));
}

std::shared_ptr<const Engine> EngineHolder::Get() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return current_;
}

absl::Status EngineHolder::Publish(std::shared_ptr<const Engine> engine) {
  if (engine == nullptr) {
    return absl::InvalidArgumentError("EngineHolder::Publish: null engine");
  }
  std::shared_ptr<const Engine> old;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    absl::Status status = CheckRevision(engine->revision());
    if (!status.ok()) return status;
    old = std::move(current_);
    current_ = std::move(engine);
  }
  // `old` may be the last reference: destroy it outside the lock.
  return absl::OkStatus();
}

absl::Status EngineHolder::Update(const v1::PolicySet& state,
                                  const EngineOptions& options) {
  {
    // Refuse early, without compiling; Publish checks again under the lock.
    std::shared_lock<std::shared_mutex> lock(mu_);
    absl::Status status = CheckRevision(state.revision());
    if (!status.ok()) return status;
  }
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  if (!engine.ok()) return engine.status();
  return Publish(std::shared_ptr<const Engine>(std::move(*engine)));
}

HeldDecision EngineHolder::Check(const AccessRequest& request) const {
  HeldDecision held;
  held.engine = Get();
  if (held.engine == nullptr) {
    held.decision.reason = Reason::kInternalError;  // effect: DENY
    return held;
  }
  held.decision = held.engine->Check(request);
  return held;
}

}  // namespace arbiter
