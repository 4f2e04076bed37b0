#include "arbiter/engine_holder.h"

#include <utility>

namespace arbiter {

EngineHolder::EngineHolder(std::shared_ptr<const Engine> initial)
    : current_(std::move(initial)) {}

std::shared_ptr<const Engine> EngineHolder::Get() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_;
}

void EngineHolder::Publish(std::shared_ptr<const Engine> engine) {
  if (engine == nullptr) return;
  std::shared_ptr<const Engine> old;
  {
    absl::MutexLock lock(&mu_);
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

Decision EngineHolder::Check(const AccessRequest& request) const {
  std::shared_ptr<const Engine> engine = Get();
  if (engine == nullptr) {
    Decision d;
    d.reason = Reason::kInternalError;
    return d;
  }
  return engine->Check(request);
}

}  // namespace arbiter
