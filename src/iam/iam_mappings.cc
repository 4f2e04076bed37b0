// Placeholder until the IAM-mapping work lands: no rules are compiled and
// every resolution fails closed.
#include "src/iam/iam_mappings.h"

namespace arbiter {
namespace internal {

std::unique_ptr<const IamMappings> IamMappings::Compile(
    const v1::PolicySet& state, const CompiledState& s, Diagnostics& diag) {
  (void)state;
  (void)s;
  (void)diag;
  return std::make_unique<IamMappings>();
}

IamDecision IamMappings::Resolve(const CompiledState&, const WorkloadAttributes&,
                                 uint64_t revision) const noexcept {
  IamDecision d;
  d.revision = revision;
  return d;
}

IamExplanation IamMappings::Explain(const CompiledState& s,
                                    const WorkloadAttributes& w,
                                    uint64_t revision) const {
  IamExplanation e;
  e.decision = Resolve(s, w, revision);
  return e;
}

size_t IamMappings::MemoryUsage() const { return sizeof(*this); }

}  // namespace internal
}  // namespace arbiter
