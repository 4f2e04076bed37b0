#include "src/compiler/profile_compiler.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/profile.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

v1::Role* MutableRole(v1::Profile& p, absl::string_view name) {
  for (v1::Role& r : *p.mutable_roles()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

void RemoveValue(google::protobuf::RepeatedPtrField<std::string>* list,
                 absl::string_view value) {
  auto it = std::remove(list->begin(), list->end(), value);
  list->erase(it, list->end());
}

void AddValue(google::protobuf::RepeatedPtrField<std::string>* list,
              absl::string_view value) {
  if (std::find(list->begin(), list->end(), value) == list->end()) {
    list->Add(std::string(value));
  }
}

bool ValidPermissionName(absl::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool ValidRoleName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

int LevelOf(v1::ScopeType t) {
  switch (t) {
    case v1::SCOPE_TYPE_ORG:
      return kOrgLevel;
    case v1::SCOPE_TYPE_CLOUD:
      return kCloudLevel;
    case v1::SCOPE_TYPE_PROJECT:
      return kProjectLevel;
    default:
      return -1;
  }
}

// Where a permission or role came from, for error paths.
struct Origin {
  std::string path;  // "custom_roles[2]" or "profile.roles[5]"
};

// The masks of src/snapshot/role_masks.h for any number of roles (at most
// 4096: the width is checked before).
void BuildWideRoleMasks(
    const v1::Profile& profile,
    const absl::flat_hash_map<std::string, int>& role_by_name,
    SnapshotTables* out) {
  const size_t num_roles = out->roles.size();
  WideRoleMasks& w = out->wide_masks;
  w.mask_words = MaskWordsFor(num_roles);
  const size_t words = w.mask_words;
  auto set = [&](uint64_t* mask, size_t role) {
    mask[role >> 6] |= uint64_t{1} << (role & 63);
  };
  w.snapshot.assign(4 * words, 0);
  w.exempt.assign(num_roles * words, 0);
  for (size_t r = 0; r < num_roles; ++r) {
    const RoleRec& role = out->roles[r];
    if (role.deny) set(&w.snapshot[0], r);
    if (role.all_permissions) set(&w.snapshot[words], r);
    if (role.private_project_role != kNoRole) set(&w.snapshot[2 * words], r);
    if (role.public_project_role != kNoRole) set(&w.snapshot[3 * words], r);
    for (const std::string& name : profile.roles(r).exempt_roles()) {
      auto it = role_by_name.find(name);
      if (it != role_by_name.end()) set(&w.exempt[r * words], it->second);
    }
  }
  const size_t num_perms = out->permissions.size();
  w.permission.assign(num_perms * WideRoleMasks::kPerPermission * words, 0);
  w.member_has.assign(num_perms, 0);
  for (uint32_t k = 0; k < num_perms; ++k) {
    w.member_has[k] =
        out->member_role != kNoRole && out->RoleHas(out->member_role, k);
    uint64_t* m = &w.permission[k * WideRoleMasks::kPerPermission * words];
    auto field = [&](WideRoleMasks::Field f) { return m + f * words; };
    for (uint16_t r = 0; r < num_roles; ++r) {
      const RoleRec& role = out->roles[r];
      if (role.deny) {
        if (out->RoleHas(r, k)) set(field(WideRoleMasks::kDeny), r);
        if (role.cap_role != kNoRole && !out->RoleHas(role.cap_role, k)) {
          set(field(WideRoleMasks::kCapBlocks), r);
        }
        continue;
      }
      if (out->RoleHas(r, k)) set(field(WideRoleMasks::kAllow), r);
      if (out->RoleHasOwn(r, k)) set(field(WideRoleMasks::kOwn), r);
      const uint16_t implied[2] = {role.private_project_role,
                                   role.public_project_role};
      for (int pub = 0; pub < 2; ++pub) {
        if (implied[pub] == kNoRole) continue;
        if (out->RoleHas(implied[pub], k)) {
          set(field(pub ? WideRoleMasks::kImplied1 : WideRoleMasks::kImplied0),
              r);
        }
        if (out->RoleHasOwn(implied[pub], k)) {
          set(field(pub ? WideRoleMasks::kImpliedOwn1
                        : WideRoleMasks::kImpliedOwn0),
              r);
        }
      }
    }
  }
}

// Fills the uint64_t role masks Check uses when there are at most 64 roles
// (the Anyscale profile has 16); the wide masks serve the others.
void BuildRoleMasks(const v1::Profile& profile,
                    const absl::flat_hash_map<std::string, int>& role_by_name,
                    SnapshotTables* out) {
  const size_t num_roles = out->roles.size();
  BuildWideRoleMasks(profile, role_by_name, out);
  out->mask_path = num_roles <= 64;
  if (!out->mask_path) return;
  out->exempt_roles.assign(num_roles, 0);
  for (uint16_t r = 0; r < num_roles; ++r) {
    const uint64_t bit = uint64_t{1} << r;
    const RoleRec& role = out->roles[r];
    if (role.deny) out->deny_roles |= bit;
    if (role.all_permissions) out->bypass_roles |= bit;
    if (role.private_project_role != kNoRole) out->implying_roles[0] |= bit;
    if (role.public_project_role != kNoRole) out->implying_roles[1] |= bit;
    for (const std::string& name : profile.roles(r).exempt_roles()) {
      auto it = role_by_name.find(name);
      if (it != role_by_name.end())
        out->exempt_roles[r] |= uint64_t{1} << it->second;
    }
  }
  out->permission_masks.assign(out->permissions.size(), PermissionMasks{});
  for (uint32_t k = 0; k < out->permissions.size(); ++k) {
    PermissionMasks& m = out->permission_masks[k];
    m.member_has =
        out->member_role != kNoRole && out->RoleHas(out->member_role, k);
    for (uint16_t r = 0; r < num_roles; ++r) {
      const uint64_t bit = uint64_t{1} << r;
      const RoleRec& role = out->roles[r];
      if (role.deny) {
        if (out->RoleHas(r, k)) m.deny |= bit;
        if (role.cap_role != kNoRole && !out->RoleHas(role.cap_role, k)) {
          m.cap_blocks |= bit;
        }
        continue;
      }
      if (out->RoleHas(r, k)) m.allow |= bit;
      if (out->RoleHasOwn(r, k)) m.own |= bit;
      const uint16_t implied[2] = {role.private_project_role,
                                   role.public_project_role};
      for (int pub = 0; pub < 2; ++pub) {
        if (implied[pub] == kNoRole) continue;
        if (out->RoleHas(implied[pub], k)) m.implied[pub] |= bit;
        if (out->RoleHasOwn(implied[pub], k)) m.implied_own[pub] |= bit;
      }
    }
  }
}

}  // namespace

v1::Profile EffectiveBaseProfile(const EngineOptions& options) {
  v1::Profile p = options.profile ? *options.profile : BuiltinProfile();
  // The §12 options edit roles of the Anyscale vocabulary. A custom base
  // profile without those roles is left as it is.
  if (v1::Role* owner = MutableRole(p, "cloud_owner")) {
    if (options.cloud_owner_private_project_access) {
      owner->set_public_project_role("project_owner");
      owner->set_private_project_role("project_owner");
    }
    if (options.cloud_owner_configures_iam_mapping) {
      AddValue(owner->mutable_permissions(), "cloud.iam_mapping.configure");
    }
    if (!options.cloud_owner_deletes_cloud) {
      RemoveValue(owner->mutable_permissions(), "cloud.delete");
    }
  }
  if (v1::Role* write = MutableRole(p, "project_write")) {
    constexpr absl::string_view kDelete = "project.workload.delete";
    RemoveValue(write->mutable_own_workload_permissions(), kDelete);
    RemoveValue(write->mutable_permissions(), kDelete);
    switch (options.project_write_workload_delete) {
      case WorkloadDeletePolicy::kNever:
        break;
      case WorkloadDeletePolicy::kOwnWorkloads:
        AddValue(write->mutable_own_workload_permissions(), kDelete);
        break;
      case WorkloadDeletePolicy::kAllWorkloads:
        AddValue(write->mutable_permissions(), kDelete);
        break;
    }
  }
  return p;
}

uint16_t FindRole(const SnapshotTables& s, absl::string_view name) {
  for (size_t i = 0; i < s.roles.size(); ++i) {
    if (s.role_names.Get(i) == name) return static_cast<uint16_t>(i);
  }
  return kNoRole;
}

namespace {

// One CompileProfile call: the effective profile and the name maps its passes
// share. Problems go to `diag`; a pass after which compiling cannot go on
// returns false.
class ProfileCompiler {
 public:
  ProfileCompiler(const EngineOptions& options, Diagnostics& diag,
                  SnapshotTables* out)
      : options_(options), diag_(diag), out_(out) {}

  void Run(const v1::PolicySet& state);

 private:
  // "profile.permissions[3]" or "custom_permissions[0]"; the same for roles.
  std::string PermPath(int i) const;
  std::string RolePath(int i) const;

  // The base profile edited by the options, then the custom permissions and
  // roles of `state`.
  void BuildEffectiveProfile(const v1::PolicySet& state);
  // out_->permissions, permission_names, perm_words and perm_by_name_.
  void CompilePermissions();
  // role_by_name_; false if there are too many roles or a name is bad.
  bool IndexRoleNames();
  // exempt_bit_: one bit per role named in some exempt_roles list; false if
  // more than 64 are.
  bool AssignExemptBits();
  // out_->roles, role_names, role_perms and role_own, one role at a time.
  void CompileRoles();
  void CompileRole(int i);
  // The fields only a deny role may set.
  void CompileDenyRole(int i, const v1::Role& r, RoleRec& rec);
  // The fields only an allow role may set; `min_level` is the highest scope
  // it is granted at.
  void CompileAllowRole(int i, const v1::Role& r, int min_level,
                        bool grantable_at_org, bool grantable_below_org,
                        RoleRec& rec);
  // Sets the bits of the permissions `names` (field `field` of role i) in
  // role i's row of `bits`; reports unknown permissions and those above
  // `min_level`.
  void AddPermissionBits(
      int role_index, absl::string_view field,
      const google::protobuf::RepeatedPtrField<std::string>& names,
      int min_level, std::vector<uint64_t>& bits);
  // A role usable as an implied project role or a cap: an allow role made of
  // project permissions. kNoRole if `name` is empty or (reported) invalid.
  uint16_t ProjectRoleRef(int i, const char* field, const std::string& name);
  // member_role and auto_add_role: allow roles grantable at their scope.
  void CompileSpecialRoles();
  uint16_t SpecialRole(const char* field, const std::string& name,
                       v1::ScopeType scope);

  const EngineOptions& options_;
  Diagnostics& diag_;
  SnapshotTables* out_;
  v1::Profile profile_;
  int base_permissions_ = 0;
  int base_roles_ = 0;
  absl::flat_hash_map<std::string, int> perm_by_name_;
  absl::flat_hash_map<std::string, int> role_by_name_;
  absl::flat_hash_map<int, uint64_t> exempt_bit_;
};

std::string ProfileCompiler::PermPath(int i) const {
  return i < base_permissions_
             ? absl::StrCat("profile.permissions[", i, "]")
             : absl::StrCat("custom_permissions[", i - base_permissions_, "]");
}

std::string ProfileCompiler::RolePath(int i) const {
  return i < base_roles_ ? absl::StrCat("profile.roles[", i, "]")
                         : absl::StrCat("custom_roles[", i - base_roles_, "]");
}

void ProfileCompiler::Run(const v1::PolicySet& state) {
  BuildEffectiveProfile(state);
  CompilePermissions();
  // Roles: names first, so roles may refer to each other.
  if (!IndexRoleNames()) return;
  if (!AssignExemptBits()) return;
  CompileRoles();
  CompileSpecialRoles();
  for (const RoleRec& r : out_->roles) {
    out_->has_all_permissions_role |= r.all_permissions;
  }
  if (diag_.ok()) BuildRoleMasks(profile_, role_by_name_, out_);
  out_->permission_names.ShrinkToFit();
  out_->role_names.ShrinkToFit();
  for (uint32_t i = 0; i < out_->permission_names.size(); ++i) {
    out_->permission_index.emplace(out_->permission_names.Get(i), i);
  }
  out_->profile = std::move(profile_);
}

void ProfileCompiler::BuildEffectiveProfile(const v1::PolicySet& state) {
  profile_ = EffectiveBaseProfile(options_);
  base_permissions_ = profile_.permissions_size();
  base_roles_ = profile_.roles_size();
  for (const v1::Permission& p : state.custom_permissions()) {
    *profile_.add_permissions() = p;
  }
  for (const v1::Role& r : state.custom_roles()) *profile_.add_roles() = r;
}

void ProfileCompiler::CompilePermissions() {
  std::vector<PermissionRec> perms;
  for (int i = 0; i < profile_.permissions_size(); ++i) {
    const v1::Permission& p = profile_.permissions(i);
    if (!ValidPermissionName(p.name())) {
      diag_.Add(absl::StrCat(PermPath(i), ".name"),
                absl::StrCat("invalid permission name ", Quote(p.name()),
                             " (lower-case letters, digits, '_' and '.')"));
      continue;
    }
    int level = LevelOf(p.scope());
    if (level < 0) {
      diag_.Add(absl::StrCat(PermPath(i), ".scope"),
                absl::StrCat("permission ", Quote(p.name()), " has no scope"));
      continue;
    }
    if (p.forbidden_on_default_project() && level != kProjectLevel) {
      diag_.Add(absl::StrCat(PermPath(i), ".forbidden_on_default_project"),
                absl::StrCat("permission ", Quote(p.name()),
                             " is not a project permission"));
    }
    auto [it, inserted] =
        perm_by_name_.emplace(p.name(), static_cast<int>(perms.size()));
    if (!inserted) {
      diag_.Add(absl::StrCat(PermPath(i), ".name"),
                absl::StrCat("duplicate permission ", Quote(p.name())));
      continue;
    }
    out_->permission_names.Add(p.name());
    perms.push_back(
        {static_cast<uint8_t>(level), p.forbidden_on_default_project()});
  }
  out_->permissions = std::move(perms);
  const size_t num_perms = out_->permissions.size();
  out_->perm_words = std::max<size_t>(1, (num_perms + 63) / 64);
}

bool ProfileCompiler::IndexRoleNames() {
  if (profile_.roles_size() >= kNoRole ||
      static_cast<size_t>(profile_.roles_size()) > options_.max_roles ||
      MaskWordsFor(profile_.roles_size()) == 0) {
    diag_.Add("custom_roles",
              absl::StrCat("too many roles (", profile_.roles_size(),
                           "; EngineOptions::max_roles is ", options_.max_roles,
                           ", at most 4096)"));
    return false;
  }
  for (int i = 0; i < profile_.roles_size(); ++i) {
    const v1::Role& r = profile_.roles(i);
    if (!ValidRoleName(r.name())) {
      diag_.Add(absl::StrCat(RolePath(i), ".name"),
                absl::StrCat("invalid role name ", Quote(r.name()),
                             " (lower-case letters, digits and '_')"));
      continue;
    }
    if (!role_by_name_.emplace(r.name(), i).second) {
      diag_.Add(absl::StrCat(RolePath(i), ".name"),
                absl::StrCat("duplicate role ", Quote(r.name())));
    }
  }
  return diag_.ok();
}

bool ProfileCompiler::AssignExemptBits() {
  for (int i = 0; i < profile_.roles_size(); ++i) {
    for (const std::string& e : profile_.roles(i).exempt_roles()) {
      auto it = role_by_name_.find(e);
      if (it == role_by_name_.end() || exempt_bit_.contains(it->second)) {
        continue;
      }
      if (exempt_bit_.size() >= 64) {
        diag_.Add(absl::StrCat(RolePath(i), ".exempt_roles"),
                  "more than 64 distinct roles are used as exemptions");
        return false;
      }
      exempt_bit_[it->second] = uint64_t{1} << exempt_bit_.size();
    }
  }
  return true;
}

void ProfileCompiler::AddPermissionBits(
    int role_index, absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& names, int min_level,
    std::vector<uint64_t>& bits) {
  const size_t words = out_->perm_words;
  for (int j = 0; j < names.size(); ++j) {
    auto it = perm_by_name_.find(names[j]);
    if (it == perm_by_name_.end()) {
      diag_.Add(absl::StrCat(RolePath(role_index), ".", field, "[", j, "]"),
                absl::StrCat("unknown permission ", Quote(names[j])));
      continue;
    }
    const int level = out_->permissions[it->second].level;
    if (level < min_level) {
      diag_.Add(absl::StrCat(RolePath(role_index), ".", field, "[", j, "]"),
                absl::StrCat("permission ", Quote(names[j]),
                             " is above the scopes the role is granted at"));
      continue;
    }
    bits[role_index * words + (it->second >> 6)] |= uint64_t{1}
                                                    << (it->second & 63);
  }
}

uint16_t ProfileCompiler::ProjectRoleRef(int i, const char* field,
                                         const std::string& name) {
  if (name.empty()) return kNoRole;
  auto it = role_by_name_.find(name);
  if (it == role_by_name_.end()) {
    diag_.Add(absl::StrCat(RolePath(i), ".", field),
              absl::StrCat("unknown role ", Quote(name)));
    return kNoRole;
  }
  const v1::Role& target = profile_.roles(it->second);
  bool project_only =
      target.effect() != v1::ROLE_EFFECT_DENY && !target.all_permissions();
  for (const std::string& pn : target.permissions()) {
    auto pit = perm_by_name_.find(pn);
    if (pit != perm_by_name_.end() &&
        out_->permissions[pit->second].level != kProjectLevel) {
      project_only = false;
    }
  }
  if (!project_only) {
    diag_.Add(absl::StrCat(RolePath(i), ".", field),
              absl::StrCat("role ", Quote(name),
                           " is not an allow role of project permissions"));
    return kNoRole;
  }
  return static_cast<uint16_t>(it->second);
}

void ProfileCompiler::CompileRoles() {
  const size_t words = out_->perm_words;
  out_->roles.assign(profile_.roles_size(), RoleRec{});
  out_->role_perms.assign(profile_.roles_size() * words, 0);
  out_->role_own.assign(profile_.roles_size() * words, 0);
  for (int i = 0; i < profile_.roles_size(); ++i) CompileRole(i);
}

void ProfileCompiler::CompileRole(int i) {
  const v1::Role& r = profile_.roles(i);
  RoleRec& rec = out_->roles[i];
  out_->role_names.Add(r.name());
  rec.deny = r.effect() == v1::ROLE_EFFECT_DENY;
  if (r.effect() != v1::ROLE_EFFECT_UNSPECIFIED &&
      r.effect() != v1::ROLE_EFFECT_ALLOW && !rec.deny) {
    diag_.Add(absl::StrCat(RolePath(i), ".effect"), "unknown effect");
  }
  if (auto it = exempt_bit_.find(i); it != exempt_bit_.end()) {
    rec.exempt_bit = it->second;
  }

  int min_level = kProjectLevel;  // the highest scope it is granted at
  bool grantable_at_org = false, grantable_below_org = false;
  for (int j = 0; j < r.grantable_at_size(); ++j) {
    int level = LevelOf(r.grantable_at(j));
    if (level < 0) {
      diag_.Add(absl::StrCat(RolePath(i), ".grantable_at[", j, "]"),
                "unknown scope type");
      continue;
    }
    min_level = std::min(min_level, level);
    (level == kOrgLevel ? grantable_at_org : grantable_below_org) = true;
  }
  for (int j = 0; j < r.subject_kinds_size(); ++j) {
    if (r.subject_kinds(j) == v1::SUBJECT_KIND_UNSPECIFIED ||
        !v1::SubjectKind_IsValid(r.subject_kinds(j))) {
      diag_.Add(absl::StrCat(RolePath(i), ".subject_kinds[", j, "]"),
                "unknown subject kind");
    }
  }
  AddPermissionBits(i, "permissions", r.permissions(), min_level,
                    out_->role_perms);
  if (rec.deny) {
    CompileDenyRole(i, r, rec);
  } else {
    CompileAllowRole(i, r, min_level, grantable_at_org, grantable_below_org,
                     rec);
  }
}

void ProfileCompiler::CompileDenyRole(int i, const v1::Role& r, RoleRec& rec) {
  if (r.all_permissions() || r.own_workload_permissions_size() > 0 ||
      !r.public_project_role().empty() || !r.private_project_role().empty()) {
    diag_.Add(RolePath(i),
              absl::StrCat("deny role ", Quote(r.name()),
                           " sets allow-only fields (all_permissions, "
                           "own_workload_permissions, *_project_role)"));
  }
  rec.cap_role = ProjectRoleRef(i, "implied_project_role_cap",
                                r.implied_project_role_cap());
  for (int j = 0; j < r.exempt_roles_size(); ++j) {
    auto it = role_by_name_.find(r.exempt_roles(j));
    if (it == role_by_name_.end()) {
      diag_.Add(absl::StrCat(RolePath(i), ".exempt_roles[", j, "]"),
                absl::StrCat("unknown role ", Quote(r.exempt_roles(j))));
      continue;
    }
    rec.exempt_mask |= exempt_bit_[it->second];
  }
  for (int j = 0; j < r.incompatible_roles_size(); ++j) {
    if (!role_by_name_.contains(r.incompatible_roles(j))) {
      diag_.Add(absl::StrCat(RolePath(i), ".incompatible_roles[", j, "]"),
                absl::StrCat("unknown role ", Quote(r.incompatible_roles(j))));
    }
  }
  ProjectRoleRef(i, "project_role_limit", r.project_role_limit());
}

void ProfileCompiler::CompileAllowRole(int i, const v1::Role& r, int min_level,
                                       bool grantable_at_org,
                                       bool grantable_below_org, RoleRec& rec) {
  const size_t words = out_->perm_words;
  if (!r.implied_project_role_cap().empty() || r.exempt_roles_size() > 0 ||
      r.incompatible_roles_size() > 0 || !r.project_role_limit().empty()) {
    diag_.Add(RolePath(i), absl::StrCat("allow role ", Quote(r.name()),
                                        " sets deny-only fields"));
  }
  if (r.all_permissions()) {
    if (!grantable_at_org || grantable_below_org) {
      diag_.Add(absl::StrCat(RolePath(i), ".all_permissions"),
                "an all_permissions role must be grantable at the org "
                "scope only");
    } else {
      std::fill(out_->role_perms.begin() + i * words,
                out_->role_perms.begin() + (i + 1) * words, ~uint64_t{0});
      rec.all_permissions = true;
    }
  }
  AddPermissionBits(i, "own_workload_permissions", r.own_workload_permissions(),
                    kProjectLevel, out_->role_own);
  if (!r.public_project_role().empty() || !r.private_project_role().empty()) {
    bool cloud_only = r.grantable_at_size() > 0 && min_level == kCloudLevel;
    for (int j = 0; j < r.grantable_at_size(); ++j) {
      cloud_only &= r.grantable_at(j) == v1::SCOPE_TYPE_CLOUD;
    }
    if (!cloud_only) {
      diag_.Add(RolePath(i), absl::StrCat("role ", Quote(r.name()),
                                          " implies project roles but is not "
                                          "a cloud role"));
    }
  }
  rec.public_project_role =
      ProjectRoleRef(i, "public_project_role", r.public_project_role());
  rec.private_project_role =
      ProjectRoleRef(i, "private_project_role", r.private_project_role());
}

uint16_t ProfileCompiler::SpecialRole(const char* field,
                                      const std::string& name,
                                      v1::ScopeType scope) {
  if (name.empty()) return kNoRole;
  auto it = role_by_name_.find(name);
  const v1::Role* r =
      it == role_by_name_.end() ? nullptr : &profile_.roles(it->second);
  bool ok = r != nullptr && r->effect() != v1::ROLE_EFFECT_DENY &&
            std::find(r->grantable_at().begin(), r->grantable_at().end(),
                      scope) != r->grantable_at().end();
  if (!ok) {
    diag_.Add(absl::StrCat("profile.", field),
              absl::StrCat(Quote(name), " is not an allow role grantable at ",
                           v1::ScopeType_Name(scope)));
    return kNoRole;
  }
  return static_cast<uint16_t>(it->second);
}

void ProfileCompiler::CompileSpecialRoles() {
  out_->member_role =
      SpecialRole("member_role", profile_.member_role(), v1::SCOPE_TYPE_ORG);
  SpecialRole("auto_add_role", profile_.auto_add_role(), v1::SCOPE_TYPE_CLOUD);
}

}  // namespace

void CompileProfile(const v1::PolicySet& state, const EngineOptions& options,
                    Diagnostics& diag, SnapshotTables* out) {
  ProfileCompiler(options, diag, out).Run(state);
}

}  // namespace internal
}  // namespace arbiter
