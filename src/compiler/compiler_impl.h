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
  void BuildResources();
  uint32_t AddNode(Kind kind, int index, absl::string_view name, uint32_t org,
                   uint32_t cloud, uint32_t project, uint8_t flags);
  void BuildIndexes();

  // compile_principals.cc
  void BuildPrincipals();
  void BuildGroups();
  // Adds the memberships a subject with these direct parents gathers to
  // *work; false (and an error) once they exceed max_membership_closure.
  bool ChargeClosure(const uint32_t* parents_begin, const uint32_t* parents_end,
                     const std::vector<std::vector<uint32_t>>& ancestors,
                     size_t* work);
  void ComputeGroupClosures();

  // compile_grants.cc
  void BuildGrants();
  void SortGrants();  // grants_ into (subject, scope, id) order
  // The sorted grants of `subject` at `scope`.
  std::pair<const GrantTmp*, const GrantTmp*> GrantsAt(uint32_t subject,
                                                       uint32_t scope) const;
  void CheckGrantInvariants();
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
