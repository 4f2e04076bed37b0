// The one named friend of Engine (cel-cpp's runtime_friend_access shape): the
// layers above the engine facade (src/query, src/admin) and white-box tests
// reach an Engine's sealed snapshot through it, read-only, instead of each
// being a friend of their own.

#ifndef ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_
#define ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_

#include "arbiter/engine.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {

class EngineFriendAccess {
 public:
  static const internal::Snapshot& State(const Engine& engine) {
    return *engine.state_;
  }
};

}  // namespace arbiter

#endif  // ARBITER_SRC_ENGINE_ENGINE_FRIEND_ACCESS_H_
