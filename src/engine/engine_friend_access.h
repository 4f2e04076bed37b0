// The one named friend of Engine (cel-cpp's runtime_friend_access shape): the
// layers above the engine facade (src/query, src/admin) and white-box tests
// reach an Engine's sealed snapshot through it, read-only, instead of each
// being a friend of their own.

#ifndef ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_
#define ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_

#include <memory>
#include <utility>

#include "arbiter/engine.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {

class EngineFriendAccess {
 public:
  static const internal::Snapshot& State(const Engine& engine) {
    return *engine.state_;
  }
  static const std::shared_ptr<const internal::Snapshot>& SharedState(
      const Engine& engine) {
    return engine.state_;
  }
  // An Engine over a sealed snapshot (a full compile's, or one a
  // SnapshotBuilder derived), answering with `revision`.
  static std::unique_ptr<const Engine> Make(
      std::shared_ptr<const internal::Snapshot> snapshot, uint64_t revision) {
    return std::unique_ptr<const Engine>(
        new Engine(std::move(snapshot), revision));
  }
};

}  // namespace arbiter

#endif  // ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_
