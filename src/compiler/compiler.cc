#include "src/compiler/compiler.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/compiler/compiler_impl.h"
#include "src/compiler/profile_compiler.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kOrg:
      return "organization";
    case Kind::kCloud:
      return "cloud";
    case Kind::kProject:
      return "project";
    case Kind::kWorkload:
      return "workload";
    case Kind::kComputeConfig:
      return "compute config";
    case Kind::kImage:
      return "image";
    case Kind::kPrincipal:
      return "principal";
    case Kind::kGroup:
      return "group";
    case Kind::kGrant:
      return "grant";
  }
  return "object";
}

namespace {

const char* Article(Kind kind) {
  return kind == Kind::kOrg || kind == Kind::kImage ? "an " : "a ";
}

// Sibling names must be unique: (parent node, name). Compute configs and
// images are named in their own namespaces: their parent key carries
// kSeparateNamespace (masked off again for messages).
constexpr uint32_t kSeparateNamespace = 0x80000000u;

}  // namespace

const char* ListName(Kind kind) {
  switch (kind) {
    case Kind::kOrg:
      return "organizations";
    case Kind::kCloud:
      return "clouds";
    case Kind::kProject:
      return "projects";
    case Kind::kWorkload:
      return "workloads";
    case Kind::kComputeConfig:
      return "compute_configs";
    case Kind::kImage:
      return "images";
    case Kind::kPrincipal:
      return "principals";
    case Kind::kGroup:
      return "groups";
    case Kind::kGrant:
      return "grants";
  }
  return "objects";
}

std::string Compiler::Path(Kind kind, int index) {
  return absl::StrCat(ListName(kind), "[", index, "]");
}

std::string Compiler::Field(Kind kind, int index, absl::string_view field) {
  return absl::StrCat(ListName(kind), "[", index, "].", field);
}

std::string FieldPath::str() const {
  return absl::StrCat(ListName(kind), "[", index, "].", field);
}

int Compiler::Resolve(const FieldPath& where, absl::string_view id, Kind want,
                      bool required) {
  if (id.empty()) {
    if (required)
      diag_.Add(where.str(), absl::StrCat("missing ", KindName(want), " id"));
    return -1;
  }
  auto it = ids_.find(id);
  if (it == ids_.end()) {
    diag_.Add(where.str(),
              absl::StrCat("unknown ", KindName(want), " ", Quote(id)));
    return -1;
  }
  if (it->second.kind != want) {
    diag_.Add(where.str(),
              absl::StrCat(Quote(id), " is ", Article(it->second.kind),
                           KindName(it->second.kind), ", not ", Article(want),
                           KindName(want)));
    return -1;
  }
  return it->second.index;
}

std::string Compiler::Describe(Kind kind, int index) const {
  absl::string_view id;
  switch (kind) {
    case Kind::kOrg:
      id = st_.organizations(index).id();
      break;
    case Kind::kCloud:
      id = st_.clouds(index).id();
      break;
    case Kind::kProject:
      id = st_.projects(index).id();
      break;
    case Kind::kWorkload:
      id = st_.workloads(index).id();
      break;
    case Kind::kComputeConfig:
      id = st_.compute_configs(index).id();
      break;
    case Kind::kImage:
      id = st_.images(index).id();
      break;
    case Kind::kPrincipal: {
      const v1::Principal& p = st_.principals(index);
      return absl::StrCat(p.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                              ? "service account "
                              : "user ",
                          Quote(p.id()));
    }
    case Kind::kGroup:
      id = st_.groups(index).id();
      break;
    case Kind::kGrant:
      id = st_.grants(index).id();
      break;
  }
  return absl::StrCat(KindName(kind), " ", Quote(id));
}

std::string Compiler::DescribeSubject(uint32_t subject) const {
  const uint32_t num_principals = principal_input_.size();
  return subject < num_principals
             ? Describe(Kind::kPrincipal, principal_input_[subject])
             : Describe(Kind::kGroup, group_input_[subject - num_principals]);
}

std::string Compiler::DescribeNode(uint32_t node) const {
  return Describe(node_kind_[node], node_input_[node]);
}

uint32_t Compiler::SubjectOrg(uint32_t subject) const {
  const uint32_t num_principals = principal_input_.size();
  return subject < num_principals ? out_->principals[subject].org
                                  : group_org_[subject - num_principals];
}

const uint32_t* Compiler::ClosureBegin(uint32_t subject) const {
  return closure_.data() + closure_begin_[subject];
}
const uint32_t* Compiler::ClosureEnd(uint32_t subject) const {
  return closure_.data() + closure_begin_[subject + 1];
}

void Compiler::CollectIds() {
  size_t total = st_.organizations_size() + st_.clouds_size() +
                 st_.projects_size() + st_.workloads_size() +
                 st_.compute_configs_size() + st_.images_size() +
                 st_.principals_size() + st_.groups_size() + st_.grants_size();
  ids_.reserve(total);
  auto add = [&](Kind kind, int index, const std::string& id) {
    std::string problem = CheckId(id, opt_.max_id_length);
    if (!problem.empty()) {
      diag_.Add(Field(kind, index, "id"), problem);
      return;
    }
    if (kind == Kind::kGrant) grant_id_ok_[index] = true;
    auto [it, inserted] = ids_.emplace(id, IdEntry{kind, index});
    if (!inserted) {
      diag_.Add(Field(kind, index, "id"),
                absl::StrCat("duplicate id ", Quote(id), " (also ",
                             Path(it->second.kind, it->second.index), ")"));
    }
  };
  // Each list's ids are hashed and their slots prefetched kLookAhead entries
  // ahead of the insertion: in a large state every insertion misses the
  // cache, and this lets the misses overlap.
  auto add_all = [&](Kind kind, const auto& list) {
    const int n = list.size();
    for (int i = 0; i < n && i < kLookAhead; ++i) ids_.prefetch(list[i].id());
    for (int i = 0; i < n; ++i) {
      if (i + kLookAhead < n) ids_.prefetch(list[i + kLookAhead].id());
      add(kind, i, list[i].id());
    }
  };
  add_all(Kind::kOrg, st_.organizations());
  add_all(Kind::kCloud, st_.clouds());
  add_all(Kind::kProject, st_.projects());
  add_all(Kind::kWorkload, st_.workloads());
  add_all(Kind::kComputeConfig, st_.compute_configs());
  add_all(Kind::kImage, st_.images());
  add_all(Kind::kPrincipal, st_.principals());
  add_all(Kind::kGroup, st_.groups());
  grant_id_ok_.assign(st_.grants_size(), false);
  add_all(Kind::kGrant, st_.grants());
}

uint32_t Compiler::AddNode(Kind kind, int index, absl::string_view name,
                           uint32_t org, uint32_t cloud, uint32_t project,
                           uint8_t flags) {
  const uint32_t node = out_->nodes.size();
  Node n;
  n.path[kOrgLevel] = org == kNone ? node : org;
  n.path[kCloudLevel] = cloud;
  n.path[kProjectLevel] = project;
  n.kind = static_cast<NodeKind>(kind);
  n.flags = flags;
  n.project_flags = 0;
  out_->nodes.push_back(n);
  out_->node_creator.push_back(kNone);
  node_kind_.push_back(kind);
  node_input_.push_back(index);
  node_name_.push_back(name);
  node_of_[static_cast<int>(kind)][index] = node;
  return node;
}

// CheckResourceName and WorkloadProject run once per resource: forced inline
// (and so defined only here), they cost no call.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::CheckResourceName(
    Kind kind, int i, const std::string& name, bool required) {
  if (name.empty() && !required) return true;
  std::string problem = CheckName(name, opt_.max_name_length);
  if (problem.empty()) return true;
  diag_.Add(Field(kind, i, "name"), problem);
  return false;
}

void Compiler::CheckSiblingName(SiblingNames& siblings, Kind kind, int i,
                                uint32_t parent, absl::string_view name) {
  if (name.empty()) return;
  auto [it, inserted] = siblings.emplace(ChildKey{parent, name}, i);
  if (!inserted) {
    diag_.Add(Field(kind, i, "name"),
              absl::StrCat("duplicate ", KindName(kind), " name ", Quote(name),
                           " in ", DescribeNode(parent & ~kSeparateNamespace),
                           " (also ", Path(kind, it->second), ")"));
  }
}

void Compiler::BuildResources() {
  for (int k = 0; k < kNumResourceKinds; ++k) node_of_[k].clear();
  node_of_[0].assign(st_.organizations_size(), kNone);
  node_of_[1].assign(st_.clouds_size(), kNone);
  node_of_[2].assign(st_.projects_size(), kNone);
  node_of_[3].assign(st_.workloads_size(), kNone);
  node_of_[4].assign(st_.compute_configs_size(), kNone);
  node_of_[5].assign(st_.images_size(), kNone);
  const size_t max_nodes = st_.organizations_size() + st_.clouds_size() +
                           st_.projects_size() + st_.workloads_size() +
                           st_.compute_configs_size() + st_.images_size();
  out_->nodes.reserve(max_nodes);
  out_->node_creator.reserve(max_nodes);

  // Parents before children: each pass resolves its parents' nodes.
  SiblingNames siblings;
  BuildOrgs();
  BuildClouds(siblings);
  default_project_.assign(out_->nodes.size(), kNone);
  BuildProjects(siblings);
  CheckDefaultProjects();
  BuildWorkloads(siblings);
  BuildComputeConfigs(siblings);
  BuildImages(siblings);
}

void Compiler::BuildOrgs() {
  for (int i = 0; i < st_.organizations_size(); ++i) {
    const v1::Organization& o = st_.organizations(i);
    if (!ids_.contains(o.id())) continue;
    CheckResourceName(Kind::kOrg, i, o.name(), /*required=*/false);
    AddNode(Kind::kOrg, i, o.name(), kNone, kNone, kNone, 0);
    out_->org_nodes.push_back(node_of_[0][i]);
  }
}

void Compiler::BuildClouds(SiblingNames& siblings) {
  for (int i = 0; i < st_.clouds_size(); ++i) {
    const v1::Cloud& c = st_.clouds(i);
    int org =
        Resolve(FieldPath{Kind::kCloud, i, "org_id"}, c.org_id(), Kind::kOrg);
    if (!ids_.contains(c.id()) || org < 0 || node_of_[0][org] == kNone)
      continue;
    if (!CheckResourceName(Kind::kCloud, i, c.name(), true)) continue;
    uint32_t org_node = node_of_[0][org];
    CheckSiblingName(siblings, Kind::kCloud, i, org_node, c.name());
    uint32_t node =
        AddNode(Kind::kCloud, i, c.name(), org_node, kNone, kNone, 0);
    out_->nodes[node].path[kCloudLevel] = node;
  }
}

void Compiler::BuildProjects(SiblingNames& siblings) {
  for (int i = 0; i < st_.projects_size(); ++i) {
    const v1::Project& p = st_.projects(i);
    int cloud = Resolve(FieldPath{Kind::kProject, i, "cloud_id"}, p.cloud_id(),
                        Kind::kCloud);
    if (!ids_.contains(p.id()) || cloud < 0 || node_of_[1][cloud] == kNone)
      continue;
    if (!CheckResourceName(Kind::kProject, i, p.name(), true)) continue;
    uint32_t cloud_node = node_of_[1][cloud];
    CheckSiblingName(siblings, Kind::kProject, i, cloud_node, p.name());
    if (!v1::Visibility_IsValid(p.visibility())) {
      diag_.Add(Field(Kind::kProject, i, "visibility"), "unknown visibility");
      continue;
    }
    bool is_public = p.visibility() == v1::VISIBILITY_PUBLIC;
    if (p.is_default()) {
      if (p.visibility() == v1::VISIBILITY_PRIVATE) {
        diag_.Add(Field(Kind::kProject, i, "visibility"),
                  absl::StrCat("the default project of ",
                               DescribeNode(cloud_node), " must be public"));
      }
      is_public = true;
      if (default_project_[cloud_node] != kNone) {
        diag_.Add(Field(Kind::kProject, i, "is_default"),
                  absl::StrCat(DescribeNode(cloud_node),
                               " already has a default project, ",
                               DescribeNode(default_project_[cloud_node])));
        continue;
      }
    }
    if (!p.creator_id().empty()) {
      Resolve(FieldPath{Kind::kProject, i, "creator_id"}, p.creator_id(),
              Kind::kPrincipal);
    }
    uint8_t flags =
        (is_public ? kPublic : 0) | (p.is_default() ? kDefaultProject : 0);
    uint32_t node = AddNode(Kind::kProject, i, p.name(),
                            out_->nodes[cloud_node].path[kOrgLevel], cloud_node,
                            kNone, flags);
    out_->nodes[node].path[kProjectLevel] = node;
    if (p.is_default()) default_project_[cloud_node] = node;
  }
}

void Compiler::CheckDefaultProjects() {
  for (int i = 0; i < st_.clouds_size(); ++i) {
    uint32_t cloud_node = node_of_[1][i];
    if (cloud_node != kNone && default_project_[cloud_node] == kNone) {
      diag_.Add(Path(Kind::kCloud, i),
                absl::StrCat(DescribeNode(cloud_node),
                             " has no default project (exactly one project "
                             "per cloud sets is_default)"));
    }
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint32_t Compiler::WorkloadProject(
    int i, const v1::Workload& w) {
  if (!w.project_id().empty()) {
    int project = Resolve(FieldPath{Kind::kWorkload, i, "project_id"},
                          w.project_id(), Kind::kProject);
    if (project < 0 || node_of_[2][project] == kNone) return kNone;
    const uint32_t project_node = node_of_[2][project];
    if (!w.cloud_id().empty()) {
      int cloud = Resolve(FieldPath{Kind::kWorkload, i, "cloud_id"},
                          w.cloud_id(), Kind::kCloud);
      if (cloud >= 0 &&
          node_of_[1][cloud] != out_->nodes[project_node].path[kCloudLevel]) {
        diag_.Add(Field(Kind::kWorkload, i, "cloud_id"),
                  absl::StrCat(DescribeNode(project_node), " is not in ",
                               Describe(Kind::kCloud, cloud)));
        return kNone;
      }
    }
    return project_node;
  }
  if (!w.cloud_id().empty()) {
    int cloud = Resolve(FieldPath{Kind::kWorkload, i, "cloud_id"}, w.cloud_id(),
                        Kind::kCloud);
    if (cloud < 0 || node_of_[1][cloud] == kNone) return kNone;
    // A workload created without a project lands in the default project;
    // kNone if the cloud has none (reported on the cloud).
    return default_project_[node_of_[1][cloud]];
  }
  diag_.Add(Path(Kind::kWorkload, i), "needs a project_id or a cloud_id");
  return kNone;
}

void Compiler::BuildWorkloads(SiblingNames& siblings) {
  for (int i = 0; i < st_.workloads_size(); ++i) {
    const v1::Workload& w = st_.workloads(i);
    const uint32_t project_node = WorkloadProject(i, w);
    if (project_node == kNone) continue;
    if (!ids_.contains(w.id())) continue;
    if (w.type() == v1::WORKLOAD_TYPE_UNSPECIFIED ||
        !v1::WorkloadType_IsValid(w.type())) {
      diag_.Add(Field(Kind::kWorkload, i, "type"),
                "missing or unknown workload type");
      continue;
    }
    if (!CheckResourceName(Kind::kWorkload, i, w.name(), false)) continue;
    CheckSiblingName(siblings, Kind::kWorkload, i, project_node, w.name());
    const Node& pn = out_->nodes[project_node];
    AddNode(Kind::kWorkload, i, w.name(), pn.path[kOrgLevel],
            pn.path[kCloudLevel], project_node, 0);
  }
}

void Compiler::BuildComputeConfigs(SiblingNames& siblings) {
  for (int i = 0; i < st_.compute_configs_size(); ++i) {
    const v1::ComputeConfig& c = st_.compute_configs(i);
    int cloud = Resolve(FieldPath{Kind::kComputeConfig, i, "cloud_id"},
                        c.cloud_id(), Kind::kCloud);
    if (!ids_.contains(c.id()) || cloud < 0 || node_of_[1][cloud] == kNone)
      continue;
    if (!CheckResourceName(Kind::kComputeConfig, i, c.name(), true)) continue;
    uint32_t cloud_node = node_of_[1][cloud];
    // Compute configs and projects are both named within a cloud, but they
    // are different namespaces: key compute configs by a distinct parent.
    CheckSiblingName(siblings, Kind::kComputeConfig, i,
                     cloud_node | kSeparateNamespace, c.name());
    AddNode(Kind::kComputeConfig, i, c.name(),
            out_->nodes[cloud_node].path[kOrgLevel], cloud_node, kNone, 0);
  }
}

void Compiler::BuildImages(SiblingNames& siblings) {
  for (int i = 0; i < st_.images_size(); ++i) {
    const v1::Image& im = st_.images(i);
    int org =
        Resolve(FieldPath{Kind::kImage, i, "org_id"}, im.org_id(), Kind::kOrg);
    if (!ids_.contains(im.id()) || org < 0 || node_of_[0][org] == kNone)
      continue;
    if (!CheckResourceName(Kind::kImage, i, im.name(), true)) continue;
    if (!v1::ImageKind_IsValid(im.kind())) {
      diag_.Add(Field(Kind::kImage, i, "kind"), "unknown image kind");
      continue;
    }
    CheckSiblingName(siblings, Kind::kImage, i,
                     node_of_[0][org] | kSeparateNamespace, im.name());
    AddNode(Kind::kImage, i, im.name(), node_of_[0][org], kNone, kNone, 0);
  }
}

void Compiler::BuildIndexes() {
  BuildNodeStrings();
  BuildIdIndex();
  BuildNameIndexes();
  BuildPathIndex();
  BuildEmailIndexes();
}

void Compiler::BuildNodeStrings() {
  SnapshotTables& s = *out_;
  size_t bytes = 0;
  for (uint32_t n = 0; n < s.nodes.size(); ++n) bytes += node_name_[n].size();
  s.node_names.Reserve(s.nodes.size(), bytes);
  for (uint32_t n = 0; n < s.nodes.size(); ++n) s.node_names.Add(node_name_[n]);
  bytes = 0;
  std::vector<absl::string_view> node_ids(s.nodes.size());
  for (auto& [id, entry] : ids_) {
    int k = static_cast<int>(entry.kind);
    if (k < kNumResourceKinds && node_of_[k][entry.index] != kNone) {
      node_ids[node_of_[k][entry.index]] = id;
      bytes += id.size();
    }
  }
  s.node_ids.Reserve(s.nodes.size(), bytes);
  for (absl::string_view id : node_ids) s.node_ids.Add(id);
}

void Compiler::BuildIdIndex() {
  SnapshotTables& s = *out_;
  s.id_index.reserve(s.nodes.size() + s.principals.size() +
                     group_input_.size());
  for (uint32_t n = 0; n < s.nodes.size(); ++n) {
    s.id_index.emplace(s.node_ids.Get(n), ObjectRef{ObjectKind::kNode, n});
  }
  for (uint32_t p = 0; p < s.principals.size(); ++p) {
    s.id_index.emplace(s.principal_ids.Get(p),
                       ObjectRef{ObjectKind::kPrincipal, p});
  }
  for (uint32_t g = 0; g < s.group_ids.size(); ++g) {
    s.id_index.emplace(s.group_ids.Get(g), ObjectRef{ObjectKind::kGroup, g});
  }
}

void Compiler::BuildNameIndexes() {
  SnapshotTables& s = *out_;
  for (uint32_t n = 0; n < s.nodes.size(); ++n) {
    const Node& node = s.nodes[n];
    absl::string_view name = s.node_names.Get(n);
    switch (node.kind) {
      case NodeKind::kOrg:
        if (!name.empty()) {
          // Two organizations with one name: the name is ambiguous.
          auto [it, inserted] = s.org_by_name.emplace(name, n);
          if (!inserted) it->second = kNone;
        }
        break;
      case NodeKind::kCloud:
        s.child_by_name.emplace(ChildKey{node.path[kOrgLevel], name}, n);
        break;
      case NodeKind::kProject:
        s.child_by_name.emplace(ChildKey{node.path[kCloudLevel], name}, n);
        break;
      case NodeKind::kWorkload:
        if (!name.empty()) {
          s.child_by_name.emplace(ChildKey{node.path[kProjectLevel], name}, n);
        }
        break;
      default:
        break;
    }
  }
}

void Compiler::BuildPathIndex() {
  SnapshotTables& s = *out_;
  // Whole paths "cloud[/project[/workload]]" within each organization: a
  // by-name check hashes its path once instead of walking it. Parents come
  // before children in node order, so a child extends its parent's path.
  // The same walk copies each node's project flags.
  std::vector<std::string> scratch(s.nodes.size());
  size_t bytes = 0;
  for (uint32_t n = 0; n < s.nodes.size(); ++n) {
    const Node& node = s.nodes[n];
    absl::string_view name = s.node_names.Get(n);
    if (node.path[kProjectLevel] != kNone && node.path[kProjectLevel] != n) {
      s.nodes[n].project_flags = s.nodes[node.path[kProjectLevel]].flags;
    } else if (node.kind == NodeKind::kProject) {
      s.nodes[n].project_flags = node.flags;
    }
    uint32_t parent = kNone;
    if (node.kind == NodeKind::kCloud) {
      scratch[n] = std::string(name);
    } else if (node.kind == NodeKind::kProject) {
      parent = node.path[kCloudLevel];
    } else if (node.kind == NodeKind::kWorkload && !name.empty()) {
      parent = node.path[kProjectLevel];
    }
    if (parent != kNone) scratch[n] = absl::StrCat(scratch[parent], "/", name);
    bytes += scratch[n].size();
  }
  s.node_paths.Reserve(s.nodes.size(), bytes);
  for (uint32_t n = 0; n < s.nodes.size(); ++n) s.node_paths.Add(scratch[n]);
  std::vector<std::string>().swap(scratch);
  s.path_index.reserve(s.nodes.size());
  for (uint32_t n = 0; n < s.nodes.size(); ++n) {
    absl::string_view path = s.node_paths.Get(n);
    if (!path.empty()) {
      s.path_index.emplace(ChildKey{s.nodes[n].path[kOrgLevel], path}, n);
    }
  }
}

void Compiler::BuildEmailIndexes() {
  SnapshotTables& s = *out_;
  // Where several deleted principals share an email, the one with the least
  // id stands for them (docs/semantics.md step 1).
  auto less_id = [&](uint32_t a, uint32_t b) {
    return b == kNone || s.principal_ids.Get(a) < s.principal_ids.Get(b);
  };
  s.email_index.reserve(s.principals.size());
  s.org_email_index.reserve(s.principals.size());
  for (uint32_t p = 0; p < s.principals.size(); ++p) {
    absl::string_view email = s.principal_emails.Get(p);
    const bool deleted = s.principals[p].state == v1::PRINCIPAL_STATE_DELETED;
    EmailEntry& e = s.email_index[email];
    if (deleted) {
      if (less_id(p, e.deleted)) e.deleted = p;
    } else {
      if (less_id(p, e.live)) e.live = p;
      ++e.live_count;
    }
    auto [it, inserted] =
        s.org_email_index.emplace(ChildKey{s.principals[p].org, email}, p);
    // The organization's live principal (at most one: BuildPrincipals)
    // replaces deleted ones.
    if (!inserted) {
      const bool current_deleted =
          s.principals[it->second].state == v1::PRINCIPAL_STATE_DELETED;
      if (!deleted || (current_deleted && less_id(p, it->second))) {
        it->second = p;
      }
    }
  }
}

void Compiler::ResolveWorkloadCreators() {
  for (int i = 0; i < st_.workloads_size(); ++i) {
    uint32_t node = node_of_[3][i];
    const std::string& creator = st_.workloads(i).creator_id();
    if (node == kNone || creator.empty()) continue;
    int p = Resolve(FieldPath{Kind::kWorkload, i, "creator_id"}, creator,
                    Kind::kPrincipal);
    if (p < 0 || principal_of_[p] == kNone) continue;
    uint32_t principal = principal_of_[p];
    if (out_->principals[principal].org != out_->nodes[node].path[kOrgLevel]) {
      diag_.Add(Field(Kind::kWorkload, i, "creator_id"),
                absl::StrCat(Describe(Kind::kPrincipal, p),
                             " belongs to another organization"));
      continue;
    }
    out_->node_creator[node] = principal;
  }
}

bool Compiler::CheckTableSizes() {
  for (const StringTable* t :
       {&out_->permission_names, &out_->role_names, &out_->node_ids,
        &out_->node_names, &out_->node_paths, &out_->principal_ids,
        &out_->principal_emails, &out_->group_ids, &out_->grant_ids}) {
    if (t->overflowed()) {
      diag_.AddStatus(absl::ResourceExhaustedError(
          "the state's ids and names exceed the 4 GiB a snapshot can hold"));
      return false;
    }
  }
  return true;
}

bool Compiler::Run() {
  CompileProfile(st_, opt_, diag_, out_);
  if (!diag_.ok()) return false;
  CollectIds();
  BuildResources();
  BuildPrincipals();
  // Workload creators are principals: resolved once principals have indices.
  ResolveWorkloadCreators();
  BuildGroups();
  if (diag_.full()) return false;
  ComputeGroupClosures();
  // Per-grant checks need no closures: run them even after earlier problems
  // so that Validate reports those too. The cross-grant invariants need
  // closures, which are unreliable after errors.
  BuildGrants();
  if (!diag_.ok()) return false;
  SortGrants();
  CheckGrantInvariants();
  if (!diag_.ok()) return false;
  LayOutGrants();
  BuildIndexes();
  if (!CheckTableSizes()) return false;
  return diag_.ok();
}

std::unique_ptr<Snapshot> Compile(const v1::PolicySet& state,
                                  const EngineOptions& options,
                                  Diagnostics& diag) {
  SnapshotTables tables;
  tables.options = options;
  Compiler compiler(state, options, diag, &tables);
  if (!compiler.Run()) return nullptr;
  return SnapshotTables::Seal(std::move(tables));
}

}  // namespace internal
}  // namespace arbiter
