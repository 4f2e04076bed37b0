// Test access to an Engine's compiled state (Engine befriends
// internal_access). Not for production code.

#ifndef ARBITER_SRC_EVAL_INTERNAL_ACCESS_H_
#define ARBITER_SRC_EVAL_INTERNAL_ACCESS_H_

#include "arbiter/engine.h"
#include "src/eval/compiled_state.h"

namespace arbiter {

class internal_access {
 public:
  static const internal::CompiledState& State(const Engine& engine) {
    return *engine.state_;
  }
};

}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_INTERNAL_ACCESS_H_
