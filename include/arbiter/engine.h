// File: arbiter/engine.h
//
// Engine: a compiled, immutable snapshot of an access state. Start here.
//
// Engine::Create validates a v1::PolicySet completely (duplicate ids,
// dangling references, roles granted at the wrong scope, group cycles, ...)
// and compiles it into flat integer-indexed tables. Check then answers "may
// this principal do this on that resource?" by walking at most three scopes
// (org, cloud, project) for the principal and each of its groups: its cost
// grows with the depth of the resource tree and the principal's number of
// groups, never with the number of grants. Check takes no lock and allocates
// nothing.
//
// An Engine is immutable and safe for concurrent use from any number of
// threads without external synchronization. To change the policy, compile a
// new Engine and publish it (see arbiter/engine_holder.h); a Decision carries
// the revision of the Engine that produced it.
//
// Example:
//
//   absl::StatusOr<arbiter::v1::PolicySet> state =
//       arbiter::LoadPolicySetFile("org.textproto");
//   if (!state.ok()) return state.status();
//   absl::StatusOr<std::unique_ptr<const arbiter::Engine>> engine =
//       arbiter::Engine::Create(*state);
//   if (!engine.ok()) return engine.status();  // names the object and field
//
//   arbiter::AccessRequest request;
//   request.principal = "alice@example.com";
//   request.permission = "project.workload.create";
//   request.resource = "prod-cloud/ml-team";
//   arbiter::Decision d = (*engine)->Check(request);

#ifndef ARBITER_ENGINE_H_
#define ARBITER_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"
#include "arbiter/engine_options.h"
#include "arbiter/explanation.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/identity.h"
#include "arbiter/request.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {

namespace internal {
struct Snapshot;
class EngineKeys;
}  // namespace internal

// A read-only description of one grant of a snapshot.
struct GrantInfo {
  absl::string_view id;
  absl::string_view subject_id;  // principal or group id
  bool subject_is_group = false;
  absl::string_view role;
  absl::string_view scope_id;  // org, cloud or project id
  v1::ScopeType scope_type = v1::SCOPE_TYPE_UNSPECIFIED;
  GrantSource source = GrantSource::kNone;
  absl::optional<absl::Time> expires_at;  // nullopt: never expires
};

// The outcome of Engine::Authenticate: the AuthResult of the snapshot's
// KeyIndex (the reason, the key, the principal's id and organization) and,
// when authenticated, the principal's handle, valid in this Engine and every
// Engine of its lineage: pass it straight to Check. principal_index equals
// principal.index() when authenticated; `revision` is the Engine's. The
// string views point into the Engine and are valid while it lives.
struct Authentication : AuthResult {
  PrincipalRef principal;
};

class Engine {
 public:
  // Validates and compiles `state`. On failure returns InvalidArgument whose
  // message names the first problem by field path, e.g.
  //   grants[12].project_id: unknown project "prj_9"
  // followed by "(and N more problems)" when there are more; Validate lists
  // them all. Nothing is kept from a failed compile.
  static absl::StatusOr<std::unique_ptr<const Engine>> Create(
      const v1::PolicySet& state, const EngineOptions& options = {});

  // Every problem of `state`, up to options.max_errors; empty when valid.
  // Each status is InvalidArgument with a field-path message. With
  // `warnings`, also sets it to the breaches of the grant-time rules
  // (EngineOptions::strict_grant_rules), each FailedPrecondition with a
  // field-path message, which do not keep the state from loading.
  static std::vector<absl::Status> Validate(
      const v1::PolicySet& state, const EngineOptions& options = {},
      std::vector<absl::Status>* warnings = nullptr);

  // The grant-time rules this snapshot's state breaks (see Validate), up to
  // options().max_errors.
  const std::vector<absl::Status>& warnings() const;

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  // ---- Checks. Never throw, never allocate; every failure is a DENY. ----

  // The by-name form: ids, emails, permission names and resource paths.
  Decision Check(const AccessRequest& request) const noexcept;

  // The fastest form, on handles from Find*.
  Decision Check(PrincipalRef principal, PermissionRef permission,
                 ResourceRef resource,
                 const RequestContext& context = {}) const noexcept;

  // Resolves handles. `principal` is an id or an email; an email that exists
  // in several organizations needs `org` (an organization id or name).
  // `resource` is an id or a `cloud[/project[/workload]]` path; a path needs
  // `org` unless the snapshot has exactly one organization. With `org`, only
  // that organization's objects are found: another tenant's id or email, or
  // an unknown `org`, gives nullopt (Check by name then denies
  // UNKNOWN_PRINCIPAL, UNKNOWN_RESOURCE or UNKNOWN_ORG).
  absl::optional<PrincipalRef> FindPrincipal(absl::string_view principal,
                                             absl::string_view org = {}) const;
  absl::optional<PermissionRef> FindPermission(absl::string_view name) const;
  absl::optional<ResourceRef> FindResource(absl::string_view resource,
                                           absl::string_view org = {}) const;

  // The same request as Check, with every grant that was considered, the
  // deciding one, subtracting deny roles and missing prerequisites. Allocates;
  // meant for people and tools, not for the request path. Its decision always
  // equals Check's.
  Explanation Explain(const AccessRequest& request) const;

  // ---- Cloud IAM mapping (arbiter/iam_mapping.h) ----

  // Chooses the cloud identity a workload runs with. Never throws; any error
  // (unknown cloud, internal failure) yields kFail.
  IamDecision ResolveIam(const WorkloadAttributes& workload) const noexcept;
  // The same, with the first failing requirement of every earlier rule.
  IamExplanation ExplainIam(const WorkloadAttributes& workload) const;

  // ---- Authentication (arbiter/identity.h, docs/identity.md) ----

  // Resolves an API key credential (`ask_<key id>_<64 hex digits>`) to its
  // principal on this snapshot, or says why not (AuthReason, tried in the
  // order of docs/identity.md): malformed, unknown key, wrong secret,
  // revoked, expired, principal unknown, deleted or invited, another
  // organization than context.org, a key kind the principal may not hold, a
  // service account on the console, SSO required for the email's verified
  // domain (options().identity.user_keys_under_required_sso). Fails closed:
  // anything unexpected is UNAUTHENTICATED. Expiry is judged at the Engine's
  // clock (options().clock), read once. The keys are indexed when the Engine
  // is created, so an Engine that a PolicyStore publishes reflects every
  // revocation and rotation before it. Takes no lock, never throws, never
  // allocates; costs one hash lookup and one SHA-256 of 48 bytes.
  Authentication Authenticate(absl::string_view credential,
                              const AuthContext& context = {}) const noexcept;
  // The same at instant `now`. Trusted input, like RequestContext::now.
  Authentication Authenticate(absl::string_view credential, absl::Time now,
                              const AuthContext& context = {}) const noexcept;

  // ---- The snapshot ----

  // PolicySet::revision of the compiled state.
  uint64_t revision() const { return revision_; }
  // The effective profile: the base profile, edited by the options, plus the
  // PolicySet's custom permissions and roles.
  const v1::Profile& profile() const;
  const EngineOptions& options() const;

  size_t num_principals() const;
  size_t num_resources() const;
  size_t num_grants() const;
  // The grants by slot: Decision::grant_index is a slot, below
  // grant_slots(). A snapshot compiled from a file holds its grants in slots
  // [0, num_grants()); one derived from it by changes (PolicyStore) may move
  // a principal's or group's grants to new slots. grant() of a slot that
  // holds no grant (out of range, padding, or a moved grant's old place) is
  // an empty GrantInfo.
  size_t grant_slots() const;
  GrantInfo grant(uint32_t index) const;

  // Approximate heap bytes held by the compiled snapshot.
  size_t MemoryUsage() const;

 private:
  Engine(std::shared_ptr<const internal::Snapshot> state, uint64_t revision);
  friend class EngineFriendAccess;

  std::shared_ptr<const internal::Snapshot> state_;
  // The snapshot's key index (owned by it); nullptr only if it has none,
  // and then Authenticate fails closed.
  const internal::EngineKeys* keys_ = nullptr;
  uint64_t revision_;
  // The snapshot's lineage: handles are valid in every Engine of it.
  uint32_t tag_;
};

}  // namespace arbiter

#endif  // ARBITER_ENGINE_H_
