#include "arbiter/engine.h"

#include <utility>

#include "src/compiler/compiler.h"
#include "src/engine/engine_keys.h"
#include "src/eval/evaluator.h"
#include "src/iam/iam_mappings.h"
#include "src/internal/diagnostics.h"
#include "src/snapshot/lookup.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace {

// Compiles the clouds' IAM mappings against the compiled snapshot and
// attaches the index; false (with the problems in `diag`) if they do not
// compile.
bool AttachIam(const v1::PolicySet& state, internal::Diagnostics& diag,
               internal::Snapshot* snapshot) {
  std::shared_ptr<const internal::IamMappings> iam =
      internal::IamMappings::Compile(state, *snapshot, diag);
  if (iam == nullptr || !diag.ok()) return false;
  snapshot->iam = iam.get();
  snapshot->extensions.push_back(std::move(iam));
  return true;
}

// Indexes the state's API keys against the compiled snapshot and attaches
// the index; false (with the problem in `diag`) if a key record or an
// identity setting is malformed.
bool AttachKeys(const v1::PolicySet& state, const EngineOptions& options,
                internal::Diagnostics& diag, internal::Snapshot* snapshot) {
  absl::StatusOr<std::shared_ptr<const internal::EngineKeys>> keys =
      internal::EngineKeys::Build(state, *snapshot, options.identity);
  if (!keys.ok()) {
    diag.AddStatus(keys.status());
    return false;
  }
  snapshot->extensions.push_back(*std::move(keys));
  return true;
}

}  // namespace

Engine::Engine(std::shared_ptr<const internal::Snapshot> state,
               uint64_t revision)
    : state_(std::move(state)),
      keys_(internal::EngineKeys::Of(*state_)),
      revision_(revision),
      tag_(state_->lineage) {}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<const Engine>> Engine::Create(
    const v1::PolicySet& state, const EngineOptions& options) {
  internal::Diagnostics diag(options.max_errors, options.strict_grant_rules);
  std::unique_ptr<internal::Snapshot> compiled =
      internal::Compile(state, options, diag);
  if (compiled == nullptr) return diag.ToStatus();
  if (!AttachIam(state, diag, compiled.get())) return diag.ToStatus();
  if (!AttachKeys(state, options, diag, compiled.get())) {
    return diag.ToStatus();
  }
  compiled->warnings =
      std::make_shared<const std::vector<absl::Status>>(diag.TakeWarnings());
  return std::unique_ptr<const Engine>(
      new Engine(std::move(compiled), state.revision()));
}

std::vector<absl::Status> Engine::Validate(
    const v1::PolicySet& state, const EngineOptions& options,
    std::vector<absl::Status>* warnings) {
  internal::Diagnostics diag(options.max_errors, options.strict_grant_rules);
  std::unique_ptr<internal::Snapshot> compiled =
      internal::Compile(state, options, diag);
  if (compiled != nullptr) {
    AttachIam(state, diag, compiled.get());
    AttachKeys(state, options, diag, compiled.get());
  }
  if (warnings != nullptr) *warnings = diag.TakeWarnings();
  return diag.TakeErrors();
}

const std::vector<absl::Status>& Engine::warnings() const {
  return *state_->warnings;
}

// Engine::Check(PrincipalRef, PermissionRef, ResourceRef, ...) is defined in
// src/eval/evaluator.cc, where the evaluation inlines into it.

Decision Engine::Check(const AccessRequest& request) const noexcept {
  const internal::Snapshot& s = *state_;
  internal::Resolved resolved = internal::ResolveRequest(s, request);
  if (!resolved.ok) return internal::MakeDecision(resolved.failure, revision_);
  return internal::Evaluate(s, resolved.principal, resolved.permission,
                            resolved.resource, request.context, revision_);
}

absl::optional<PrincipalRef> Engine::FindPrincipal(
    absl::string_view principal, absl::string_view org) const {
  uint32_t org_node = internal::kNone;
  if (!org.empty()) {
    org_node = internal::ResolveOrg(*state_, org);
    if (org_node == internal::kNone) return absl::nullopt;
  }
  uint32_t index;
  Reason failure;
  if (!internal::ResolvePrincipal(*state_, principal, org_node, internal::kNone,
                                  &index, &failure)) {
    return absl::nullopt;
  }
  return PrincipalRef(index, tag_);
}

absl::optional<PermissionRef> Engine::FindPermission(
    absl::string_view name) const {
  auto it = state_->permission_index->find(name);
  if (it == state_->permission_index->end()) return absl::nullopt;
  return PermissionRef(it->second, tag_);
}

absl::optional<ResourceRef> Engine::FindResource(absl::string_view resource,
                                                 absl::string_view org) const {
  uint32_t org_node = internal::kNone;
  uint32_t path_org = internal::kNone;
  if (!org.empty()) {
    org_node = internal::ResolveOrg(*state_, org);
    if (org_node == internal::kNone) return absl::nullopt;
    path_org = org_node;
  } else if (state_->org_nodes.size() == 1) {
    path_org = state_->org_nodes[0];
  }
  uint32_t index =
      internal::ResolveResource(*state_, resource, path_org, org_node);
  if (index == internal::kNone) return absl::nullopt;
  return ResourceRef(index, tag_);
}

Authentication Engine::Authenticate(absl::string_view credential,
                                    const AuthContext& context) const noexcept {
  const absl::Time now = state_->options.clock != nullptr
                             ? state_->options.clock->Now()
                             : Clock::System().Now();
  return Authenticate(credential, now, context);
}

Authentication Engine::Authenticate(absl::string_view credential,
                                    absl::Time now,
                                    const AuthContext& context) const noexcept {
  Authentication out;
  if (keys_ != nullptr) {
    static_cast<AuthResult&>(out) =
        keys_->Authenticate(credential, now, context);
    if (out.authenticated()) {
      out.principal = PrincipalRef(out.principal_index, tag_);
    }
  }  // else: kInternalError, kNoPrincipal
  out.revision = revision_;
  return out;
}

IamDecision Engine::ResolveIam(
    const WorkloadAttributes& workload) const noexcept {
  if (state_->iam == nullptr) {
    IamDecision d;
    d.revision = revision_;
    return d;  // kFail, kInternalError
  }
  return state_->iam->Resolve(*state_, workload, revision_);
}

IamExplanation Engine::ExplainIam(const WorkloadAttributes& workload) const {
  if (state_->iam == nullptr) {
    IamExplanation e;
    e.decision.revision = revision_;
    return e;
  }
  return state_->iam->Explain(*state_, workload, revision_);
}

const v1::Profile& Engine::profile() const { return *state_->profile; }
const EngineOptions& Engine::options() const { return state_->options; }
size_t Engine::num_principals() const { return state_->principals.size(); }
size_t Engine::num_resources() const { return state_->nodes.size(); }
size_t Engine::num_grants() const { return state_->num_grants; }
size_t Engine::grant_slots() const { return state_->grants.size(); }

GrantInfo Engine::grant(uint32_t index) const {
  const internal::Snapshot& s = *state_;
  GrantInfo info;
  if (index >= s.grants.size()) return info;
  // A padding slot, or the old copy of a span a later delta relocated.
  const uint32_t holder = s.grant_subjects[index];
  if (holder == internal::kNone) return info;
  const internal::GrantSpan span = s.SubjectSpan(holder);
  if (index < span.begin || index >= span.end) return info;
  const internal::GrantRec& g = s.grants[index];
  info.id = s.GrantId(index);
  const uint32_t num_principals = s.principals.size();
  const uint32_t subject = s.SubjectOfGrant(index);
  info.subject_is_group = subject >= num_principals;
  info.subject_id = info.subject_is_group
                        ? s.group_ids.Get(subject - num_principals)
                        : s.principal_ids.Get(subject);
  info.role = s.role_names.Get(g.role);
  info.scope_id = s.node_ids.Get(g.scope);
  info.scope_type = static_cast<v1::ScopeType>(g.level + v1::SCOPE_TYPE_ORG);
  info.source = static_cast<GrantSource>(g.source);
  if (const int64_t expires = s.GrantExpires(index);
      expires != internal::kNever) {
    info.expires_at = absl::FromUnixNanos(expires);
  }
  return info;
}

size_t Engine::MemoryUsage() const {
  return sizeof(*this) + state_->MemoryUsage();
}

}  // namespace arbiter
