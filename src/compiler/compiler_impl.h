// The compiler's working state, shared by compiler.cc (ids and resources),
// compile_principals.cc (principals and groups) and compile_grants.cc
// (grants). Private to src/compiler.

#ifndef ARBITER_SRC_COMPILER_COMPILER_IMPL_H_
#define ARBITER_SRC_COMPILER_COMPILER_IMPL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "arbiter/engine_options.h"
#include "arbiter/v1/policy_set.pb.h"
#include "src/internal/diagnostics.h"
#include "src/internal/hashing.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Object kinds of a PolicySet, in the order of its fields.
enum class Kind : uint8_t {
  kOrg,
  kCloud,
  kProject,
  kWorkload,
  kComputeConfig,
  kImage,
  kPrincipal,
  kGroup,
  kGrant,
};
inline constexpr int kNumResourceKinds = 6;  // kOrg .. kImage

const char* KindName(Kind kind);  // "organization", "compute config", ...
const char* ListName(Kind kind);  // "organizations", "compute_configs", ...

// A field path, formatted only when a problem is reported: compiling a
// valid state builds no strings per object.
struct FieldPath {
  Kind kind;
  int index;
  const char* field;
  std::string str() const;  // "grants[12].scope"
};

class Compiler {
 public:
  Compiler(const v1::PolicySet& state, const EngineOptions& options,
           Diagnostics& diag, SnapshotTables* out)
      : st_(state), opt_(options), diag_(diag), out_(out) {}

  // Fills *out. Returns false when diag holds problems.
  bool Run();

 private:
  struct IdEntry {
    Kind kind;
    int index;  // position in the PolicySet's list
  };
  struct GrantTmp {
    uint32_t subject;
    uint32_t scope;
    int64_t expires;
    int input;
    uint16_t role;
    uint8_t level;
    uint8_t source;
  };
  using RoleIndex = absl::flat_hash_map<absl::string_view, uint16_t>;
  // (parent node, name) -> PolicySet index of the first resource so named.
  using SiblingNames = absl::flat_hash_map<ChildKey, int>;

  // The id lookups of list entry i + kLookAhead are prefetched while entry i
  // is processed: at a million objects the id table is far larger than the
  // cache, and each lookup otherwise waits for its misses in turn.
  static constexpr int kLookAhead = 8;

  static std::string Path(Kind kind, int index);
  static std::string Field(Kind kind, int index, absl::string_view field);

  // Looks up `id` named by field `path`, expecting `want`. Reports a missing
  // id, an unknown id or one of another kind; returns the PolicySet index or
  // -1.
  int Resolve(const FieldPath& where, absl::string_view id, Kind want,
              bool required = true);
  // The name of an object for messages: `user "usr_1"`, `cloud "prod"`.
  std::string Describe(Kind kind, int index) const;
  std::string DescribeSubject(uint32_t subject) const;
  std::string DescribeNode(uint32_t node) const;

  // compiler.cc
  void CollectIds();
  // Every resource node, parents before children (the passes below).
  void BuildResources();
  // The name of a resource, checked when present or `required`; false (and
  // an error) if invalid.
  bool CheckResourceName(Kind kind, int i, const std::string& name,
                         bool required);
  // Reports `name` if a sibling under `parent` already has it.
  void CheckSiblingName(SiblingNames& siblings, Kind kind, int i,
                        uint32_t parent, absl::string_view name);
  void BuildOrgs();                            // organizations
  void BuildClouds(SiblingNames& siblings);    // clouds, under their orgs
  void BuildProjects(SiblingNames& siblings);  // projects, default_project_
  void CheckDefaultProjects();                 // one default project per cloud
  // The project node of workloads[i] (its project, or its cloud's default
  // project); kNone (reported unless reported elsewhere) if there is none.
  uint32_t WorkloadProject(int i, const v1::Workload& w);
  void BuildWorkloads(SiblingNames& siblings);       // workloads
  void BuildComputeConfigs(SiblingNames& siblings);  // compute configs
  void BuildImages(SiblingNames& siblings);          // images
  uint32_t AddNode(Kind kind, int index, absl::string_view name, uint32_t org,
                   uint32_t cloud, uint32_t project, uint8_t flags);
  // Resolves workload creator ids to principals (after BuildPrincipals).
  void ResolveWorkloadCreators();
  // The lookup tables of the snapshot (the passes below), after LayOutGrants.
  void BuildIndexes();
  void BuildNodeStrings();   // node_names, node_ids
  void BuildIdIndex();       // id_index over nodes, principals and groups
  void BuildNameIndexes();   // org_by_name, child_by_name
  void BuildPathIndex();     // project_flags, node_paths, path_index
  void BuildEmailIndexes();  // email_index, org_email_index
  // False (and an error) if a string table overflowed its 4 GiB.
  bool CheckTableSizes();

  // compile_principals.cc
  void BuildPrincipals();
  void BuildGroups();
  // Adds the memberships a subject with these direct parents gathers to
  // *work; false (and an error) once they exceed max_membership_closure.
  bool ChargeClosure(const uint32_t* parents_begin, const uint32_t* parents_end,
                     const std::vector<std::vector<uint32_t>>& ancestors,
                     size_t* work);
  // The direct parents of a subject, as group indices.
  std::pair<const uint32_t*, const uint32_t*> ParentsOf(uint32_t subject) const;
  // closure_begin_ and closure_ (the passes below); nothing after errors.
  void ComputeGroupClosures();
  // Every group's ancestors, by depth-first search; reports cycles, groups
  // nested too deep and an exceeded closure budget.
  void ComputeGroupAncestors(std::vector<std::vector<uint32_t>>* ancestors,
                             size_t* work);
  // Reports the cycle closed by an edge from the top of `stack` to `parent`.
  void ReportGroupCycle(const std::vector<std::pair<uint32_t, uint32_t>>& stack,
                        uint32_t parent);
  // Every subject's closure from the groups' ancestors; reports principals
  // in too many groups.
  void ComputeSubjectClosures(
      const std::vector<std::vector<uint32_t>>& ancestors, size_t* work);

  // compile_grants.cc
  // grants_: every grant that passes its own checks (the passes below).
  void BuildGrants();
  // Prefetches the id-table slots of a grant's subject and scope ids.
  void PrefetchGrantIds(const v1::Grant& g) const;
  // Each resolves one part of grants[i] into *t; false (and an error) if it
  // is missing or invalid.
  bool ResolveGrantSubject(int i, const v1::Grant& g, GrantTmp* t,
                           v1::SubjectKind* kind);
  bool ResolveGrantScope(int i, const v1::Grant& g, GrantTmp* t);
  bool ResolveGrantRole(int i, const v1::Grant& g, const RoleIndex& role_index,
                        GrantTmp* t);
  // The role's placement, the organization, the source and the expiry of a
  // resolved grant; false (and the first problem) if any is wrong.
  bool CheckGrantPlacement(int i, const v1::Grant& g,
                           v1::SubjectKind subject_kind, uint16_t auto_add_role,
                           GrantTmp* t);
  void SortGrants();  // grants_ into (subject, scope, id) order
  // The sorted grants of `subject` at `scope`.
  std::pair<const GrantTmp*, const GrantTmp*> GrantsAt(uint32_t subject,
                                                       uint32_t scope) const;
  // The cross-grant rules over the sorted grants_ (the passes below).
  void CheckGrantInvariants();
  // Subject -> holds an all_permissions (org owner) role.
  std::vector<bool> OrgOwnerSubjects() const;
  // Whether `subject` itself holds an allow grant at `scope`.
  bool HasAllowAt(uint32_t subject, uint32_t scope) const;
  // Whether `subject` reaches `cloud` through itself or a containing group.
  bool PassesCloud(uint32_t subject, uint32_t cloud,
                   const std::vector<bool>& owner) const;
  // A deny grant against the incompatible roles of its subject at its scope.
  void CheckIncompatibleRoles(const GrantTmp& t);
  // A project grant: the cloud grant it requires and the role limits.
  void CheckProjectGrant(const GrantTmp& t, const std::vector<bool>& owner);
  // An allow project grant against the project_role_limit of the deny roles
  // its subject holds on `cloud` or the organization.
  void CheckProjectRoleLimits(const GrantTmp& t, uint32_t cloud);
  // A service account holding an all_permissions role directly.
  void CheckServiceAccountOwner(const GrantTmp& t);
  // Service accounts reaching an all_permissions role through a group: names
  // each such group grant once.
  void CheckServiceAccountOwnersViaGroups(const std::vector<bool>& owner);
  // The grant slots, the group spans and every principal's layout
  // (src/compiler/principal_layout.h).
  void LayOutGrants();

  uint32_t SubjectOrg(uint32_t subject) const;
  // All groups containing the subject, transitively, ascending.
  const uint32_t* ClosureBegin(uint32_t subject) const;
  const uint32_t* ClosureEnd(uint32_t subject) const;

  const v1::PolicySet& st_;
  const EngineOptions& opt_;
  Diagnostics& diag_;
  SnapshotTables* out_;

  absl::flat_hash_map<absl::string_view, IdEntry> ids_;
  // PolicySet grant index -> its id is well formed (CollectIds), so that
  // BuildGrants need not look the id up again.
  std::vector<bool> grant_id_ok_;
  // Per resource kind: PolicySet index -> node index (kNone if invalid).
  std::vector<uint32_t> node_of_[kNumResourceKinds];
  std::vector<Kind> node_kind_;  // node index -> kind
  std::vector<int> node_input_;  // node index -> PolicySet index
  std::vector<absl::string_view> node_name_;
  std::vector<uint32_t> default_project_;  // cloud node -> project node

  std::vector<uint32_t> principal_of_;  // PolicySet index -> principal index
  std::vector<int> principal_input_;    // principal index -> PolicySet index
  std::vector<uint32_t> group_of_;      // PolicySet index -> group index
  std::vector<int> group_input_;        // group index (id order) -> index
  std::vector<uint32_t> group_org_;     // group index -> org node
  // Transitive groups of every subject, as group *indices* (not subjects).
  std::vector<uint32_t> closure_begin_;  // subjects + 1
  std::vector<uint32_t> closure_;

  std::vector<GrantTmp> grants_;
  std::vector<uint32_t> subject_pos_;  // subject -> first of its grants_
  std::vector<bool> subject_has_grants_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_COMPILER_IMPL_H_
