// IndexedState: the writer's copy of an access state (a v1::PolicySet) with
// the indexes the admin path needs (every object by id; grants by subject
// and by scope; group members and the groups containing each subject;
// projects by cloud, workloads by project, principals by email), updated
// in O(size of the change) by applying a StateDelta, and reverted exactly
// (byte for byte, positions included) from the undo log of an apply.
//
// Not thread-safe: PolicyStore holds it under its writer lock. Readers
// never see it; they read published snapshots.

#ifndef ARBITER_SRC_ADMIN_INDEXED_STATE_H_
#define ARBITER_SRC_ADMIN_INDEXED_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "arbiter/v1/policy_set.pb.h"
#include "src/compiler/state_delta.h"

namespace arbiter {
namespace internal {

// The kinds of objects of a PolicySet, each a repeated field keyed by id
// (custom permissions and roles by name, identity settings by org_id).
enum class ObjKind : uint8_t {
  kOrg,
  kCloud,
  kProject,
  kWorkload,
  kComputeConfig,
  kImage,
  kPrincipal,
  kGroup,
  kGrant,
  kCustomPermission,
  kCustomRole,
  kQuota,
  kBudget,
  kApiKey,
  kInvitation,
  kIdentitySettings,
};
inline constexpr int kNumObjKinds = 16;

class IndexedState {
 public:
  explicit IndexedState(v1::PolicySet state);
  IndexedState(const IndexedState&) = delete;
  IndexedState& operator=(const IndexedState&) = delete;

  const v1::PolicySet& state() const { return state_; }
  uint64_t revision() const { return state_.revision(); }
  void SetRevision(uint64_t revision) { state_.set_revision(revision); }

  // ---- Objects by key (nullptr when absent) ----
  const google::protobuf::Message* Find(ObjKind kind,
                                        absl::string_view key) const;
  // The object's position in its PolicySet field, or -1.
  int Position(ObjKind kind, absl::string_view key) const;
  const v1::Organization* Org(absl::string_view id) const;
  const v1::Cloud* Cloud(absl::string_view id) const;
  const v1::Project* Project(absl::string_view id) const;
  const v1::Workload* Workload(absl::string_view id) const;
  const v1::Principal* Principal(absl::string_view id) const;
  const v1::Group* Group(absl::string_view id) const;
  const v1::Grant* Grant(absl::string_view id) const;
  const v1::ResourceQuota* Quota(absl::string_view id) const;
  const v1::Budget* Budget(absl::string_view id) const;
  const v1::Role* CustomRole(absl::string_view name) const;
  const v1::IdentitySettings* IdentitySettings(absl::string_view org) const;

  // ---- Secondary indexes (ids; empty sets when none) ----
  // Grants whose subject is `subject` (a principal or group id).
  const absl::flat_hash_set<std::string>& GrantsOf(
      absl::string_view subject) const;
  // Grants whose scope is `scope` (an org, cloud or project id).
  const absl::flat_hash_set<std::string>& GrantsOn(
      absl::string_view scope) const;
  // Groups listing `subject` (a principal or group id) as a member.
  const absl::flat_hash_set<std::string>& GroupsContaining(
      absl::string_view subject) const;
  const absl::flat_hash_set<std::string>& ProjectsOf(
      absl::string_view cloud) const;
  const absl::flat_hash_set<std::string>& WorkloadsOf(
      absl::string_view project) const;
  const absl::flat_hash_set<std::string>& CloudsOf(absl::string_view org) const;
  const absl::flat_hash_set<std::string>& PrincipalsOf(
      absl::string_view org) const;
  const absl::flat_hash_set<std::string>& GroupsOf(absl::string_view org) const;
  // API keys of a principal; invitations of an organization.
  const absl::flat_hash_set<std::string>& ApiKeysOf(
      absl::string_view principal) const;
  const absl::flat_hash_set<std::string>& InvitationsOf(
      absl::string_view org) const;
  // Principals of `org` whose email is `email` (case-insensitive).
  std::vector<const v1::Principal*> PrincipalsByEmail(
      absl::string_view org, absl::string_view email) const;
  // Every group containing `subject`, transitively.
  std::vector<std::string> AllGroupsOf(absl::string_view subject) const;

  // ---- Changes ----
  // What an Apply did, to Revert it.
  class UndoLog {
   public:
    bool empty() const { return steps_.empty(); }

   private:
    friend class IndexedState;
    struct Step {
      enum Op : uint8_t { kInserted, kErased, kReplaced } op;
      ObjKind kind;
      int position;
      std::unique_ptr<google::protobuf::Message> saved;
      std::string key;  // of the object the step changed
    };
    std::vector<Step> steps_;
    uint64_t revision = 0;
  };

  // Applies `delta` (removals, then puts, then added grants; StateDelta's
  // order) and sets the revision. Fails (NotFound, AlreadyExists,
  // FailedPrecondition naming the delta's field) on a removal of something
  // absent, a grant added twice, or a grant removed that differs from the
  // state's; then the state is exactly as before. On success, `undo`
  // reverts it.
  absl::Status Apply(const StateDelta& delta, UndoLog* undo);
  // Reverts an Apply: the state is byte for byte what it was.
  void Revert(UndoLog undo);
  // The net change the applies of `logs` (in order) made, as one delta
  // against the state before the first: objects they removed, added or
  // changed, once each, in a deterministic order. Call before reverting.
  StateDelta NetDelta(const std::vector<UndoLog>& logs) const;

 private:
  struct Table {
    const google::protobuf::FieldDescriptor* field;  // PolicySet's field
    const google::protobuf::FieldDescriptor* key;    // the object's key
    absl::flat_hash_map<std::string, int> position;
  };

  google::protobuf::RepeatedPtrField<google::protobuf::Message>* Field(
      ObjKind kind);
  const google::protobuf::Message& At(ObjKind kind, int position) const;
  std::string KeyOf(ObjKind kind, const google::protobuf::Message& m) const;

  // The primitives every change is made of, each keeping the indexes.
  void Insert(ObjKind kind, std::unique_ptr<google::protobuf::Message> m,
              UndoLog* undo);
  void Erase(ObjKind kind, int position, UndoLog* undo);
  void Replace(ObjKind kind, int position,
               std::unique_ptr<google::protobuf::Message> m, UndoLog* undo);
  void IndexObject(ObjKind kind, const google::protobuf::Message& m, bool add);

  v1::PolicySet state_;
  Table tables_[kNumObjKinds];
  using Index =
      absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>;
  Index grants_of_, grants_on_, groups_containing_, projects_of_, workloads_of_,
      clouds_of_, principals_of_, groups_of_, api_keys_of_, invitations_of_;
  // (org, lower-case email) -> principal ids.
  Index principals_by_email_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_ADMIN_INDEXED_STATE_H_
