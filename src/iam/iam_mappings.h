// The compiled cloud IAM mappings of a snapshot: per cloud, the ordered
// selector rules, the default behaviour and the default identity.

#ifndef ARBITER_SRC_IAM_IAM_MAPPINGS_H_
#define ARBITER_SRC_IAM_IAM_MAPPINGS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "arbiter/iam_mapping.h"
#include "arbiter/v1/policy_set.pb.h"
#include "src/compiler/diagnostics.h"
#include "src/eval/compiled_state.h"

namespace arbiter {
namespace internal {

class IamMappings {
 public:
  // Compiles every cloud's iam_mapping. Problems go to `diag` with paths such
  // as clouds[2].iam_mapping.rules[3].selector. Called after the rest of `s`
  // (nodes, principals, indexes) is built.
  static std::unique_ptr<const IamMappings> Compile(const v1::PolicySet& state,
                                                    const CompiledState& s,
                                                    Diagnostics& diag);

  IamDecision Resolve(const CompiledState& s, const WorkloadAttributes& w,
                      uint64_t revision) const noexcept;
  IamExplanation Explain(const CompiledState& s, const WorkloadAttributes& w,
                         uint64_t revision) const;
  size_t MemoryUsage() const;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IAM_IAM_MAPPINGS_H_
