// File: arbiter/engine_holder.h
//
// EngineHolder publishes the current Engine of a process. Policy changes
// compile a new Engine off the request path and swap it in atomically;
// readers that already hold the old one keep using it until they drop their
// reference, so no reader ever sees a half-applied policy.
//
// Example:
//
//   arbiter::EngineHolder holder;
//   // Writer (any thread):
//   absl::Status s = holder.Update(new_state);  // old engine kept on error
//                                               // (or if not newer)
//   // Readers (any thread):
//   std::shared_ptr<const arbiter::Engine> engine = holder.Get();
//   arbiter::Decision d = engine->Check(request);  // d.revision tells which
//
// Revisions only move forward: Publish and Update refuse an engine whose
// revision is not newer than the current one (FailedPrecondition), so that
// two writers racing, or a writer replaying an old state, can never undo a
// revocation. Tools that must go back (a deliberate rollback, a test)
// construct the holder with Options::allow_rollback.
//
// Thread safety: every method may be called concurrently from any thread.
// (A std::shared_mutex rather than absl::Mutex, so that ThreadSanitizer sees
// the locking even with an Abseil built without TSan annotations.)

#ifndef ARBITER_ENGINE_HOLDER_H_
#define ARBITER_ENGINE_HOLDER_H_

#include <memory>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "arbiter/engine.h"

namespace arbiter {

// A decision together with the engine that made it: decision.grant_id points
// into *engine, so it stays valid as long as this value lives, even after the
// holder has moved on to a newer engine.
struct HeldDecision {
  Decision decision;
  std::shared_ptr<const Engine> engine;

  bool allowed() const { return decision.allowed(); }
};

struct EngineHolderOptions {
  // Accept engines whose revision equals or precedes the current one.
  bool allow_rollback = false;
};

class EngineHolder {
 public:
  using Options = EngineHolderOptions;

  EngineHolder() = default;
  explicit EngineHolder(Options options) : options_(options) {}
  explicit EngineHolder(std::shared_ptr<const Engine> initial,
                        Options options = Options());

  EngineHolder(const EngineHolder&) = delete;
  EngineHolder& operator=(const EngineHolder&) = delete;

  // The current engine; nullptr before the first Publish/Update. Cheap: a
  // reader lock around a shared_ptr copy.
  std::shared_ptr<const Engine> Get() const;

  // Makes `engine` current. Returns InvalidArgument for a null engine and
  // FailedPrecondition when its revision is not newer than the current
  // engine's (unless Options::allow_rollback); the current engine stays then.
  absl::Status Publish(std::shared_ptr<const Engine> engine);

  // Compiles `state` and publishes it. On failure returns the compile error
  // (or Publish's) and leaves the current engine in place. A state whose
  // revision is not newer is refused before it is compiled.
  absl::Status Update(const v1::PolicySet& state,
                      const EngineOptions& options = {});

  // Check against the current engine; DENY kInternalError (and a null
  // engine) if there is none.
  HeldDecision Check(const AccessRequest& request) const;

 private:
  // OK if an engine at `revision` may replace the current one.
  absl::Status CheckRevision(uint64_t revision) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Options options_;  // set at construction only
  mutable std::shared_mutex mu_;
  std::shared_ptr<const Engine> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arbiter

#endif  // ARBITER_ENGINE_HOLDER_H_
