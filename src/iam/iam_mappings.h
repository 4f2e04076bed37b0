// The compiled cloud IAM mappings of a snapshot: per cloud, the ordered
// selector rules, the default behaviour and the default identity (see
// src/iam/cloud_mapping.h), plus the compute configs' IAM overrides. Resolve
// turns a WorkloadAttributes into an IamDecision; it is the implementation of
// Engine::ResolveIam and Engine::ExplainIam.
//
// Order of resolution (the first failing step decides):
//   1. cloud (id, or name in the organization)       -> kUnknownCloud
//   2. workload type (cluster allowed)               -> kInvalidWorkloadType
//   3. project (id or name in the cloud; empty means
//      the default project)                          -> kUnknownProject
//   4. compute config, when given (id or name)       -> kUnknownComputeConfig
//   5. user: a principal id, or a well-formed email   -> kInvalidUser
//      of an active principal of the cloud's org:
//      a deleted or invited one                      -> kPrincipalDeleted,
//                                                       kPrincipalInvited
//      one of another org only                       -> kCrossOrg
//      an email no principal holds                   -> kUnknownPrincipal
//      (matched as a string instead with EngineOptions::
//      iam_match_unknown_users)
//   6. under kComputeConfigWins, a compute config with an iam_identity
//      decides (kMapped, kComputeConfigOverride);
//   7. the first matching rule decides (kMapped, kRuleMatched);
//   8. no rule matched: default FAIL -> kFail; otherwise the compute config's
//      iam_identity if set (kMapped, kComputeConfigOverride), else the
//      cloud's default identity (kCloudDefault). Both kNoRuleMatched except
//      the override.
// So under kMappingWins a compute config can only replace the cloud default:
// it never beats a matching rule and never turns FAIL into a launch.

#ifndef ARBITER_SRC_IAM_IAM_MAPPINGS_H_
#define ARBITER_SRC_IAM_IAM_MAPPINGS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/v1/policy_set.pb.h"
#include "src/internal/diagnostics.h"
#include "src/snapshot/snapshot.h"
#include "src/internal/hashing.h"

namespace arbiter {
namespace internal {

class CloudMapping;  // src/iam/cloud_mapping.h

class IamMappings final : public SnapshotExtension {
 public:
  // Compiles every cloud's iam_mapping and validates compute configs'
  // iam_identity. Problems go to `diag` with paths such as
  // clouds[2].iam_mapping.rules[3].selector; the result is then nullptr.
  // Called after the rest of `s` (nodes, principals, indexes) is built; `s`
  // must outlive the result.
  static std::shared_ptr<const IamMappings> Compile(const v1::PolicySet& state,
                                                    const Snapshot& s,
                                                    Diagnostics& diag);

  IamMappings(const IamMappings&) = delete;
  IamMappings& operator=(const IamMappings&) = delete;
  ~IamMappings();

  // Never throws; any failure (including running out of memory) is kFail.
  IamDecision Resolve(const Snapshot& s, const WorkloadAttributes& w,
                      uint64_t revision) const noexcept;
  IamExplanation Explain(const Snapshot& s, const WorkloadAttributes& w,
                         uint64_t revision) const;
  size_t MemoryUsage() const override;

 private:
  struct Resolution;
  struct ComputeConfigEntry {
    uint32_t cloud;
    std::string identity;
  };

  IamMappings();

  // Steps 1-8 above. `r` receives the resolved workload for Explain.
  IamDecision Decide(const Snapshot& s, const WorkloadAttributes& w,
                     uint64_t revision, Resolution* r) const;
  const ComputeConfigEntry* FindComputeConfig(const Snapshot& s,
                                              uint32_t cloud_node,
                                              absl::string_view cc,
                                              uint32_t* node) const;
  // Step 5: sets *email (the email to match) and returns true, or sets
  // *failure and returns false. *email is also set when the user names a
  // principal or is a well-formed email that cannot launch, for Explain.
  bool ResolveUser(const Snapshot& s, absl::string_view user,
                   uint32_t org_node, absl::string_view* email,
                   IamReason* failure) const;

  std::vector<std::unique_ptr<CloudMapping>> clouds_;
  std::vector<uint32_t> cloud_nodes_;                   // index -> cloud node
  absl::flat_hash_map<uint32_t, uint32_t> cloud_slot_;  // cloud node -> index
  // Cloud id (and name, with a single organization) -> index. Keys point
  // into the Snapshot.
  absl::flat_hash_map<absl::string_view, uint32_t> cloud_by_key_;
  absl::flat_hash_map<uint32_t, ComputeConfigEntry> compute_configs_;  // node
  // (cloud node, compute-config name) -> node. Names point into `s`.
  absl::flat_hash_map<ChildKey, uint32_t> compute_config_by_name_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IAM_IAM_MAPPINGS_H_
