#include "arbiter/engine_holder.h"

#include <utility>

namespace arbiter {

EngineHolder::EngineHolder(std::shared_ptr<const Engine> initial)
    : current_(std::move(initial)) {}

std::shared_ptr<const Engine> EngineHolder::Get() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return current_;
}

void EngineHolder::Publish(std::shared_ptr<const Engine> engine) {
  if (engine == nullptr) return;
  std::shared_ptr<const Engine> old;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    old = std::move(current_);
    current_ = std::move(engine);
  }
  // `old` may be the last reference: destroy it outside the lock.
}

absl::Status EngineHolder::Update(const v1::PolicySet& state,
                                  const EngineOptions& options) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  if (!engine.ok()) return engine.status();
  Publish(std::shared_ptr<const Engine>(std::move(*engine)));
  return absl::OkStatus();
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
