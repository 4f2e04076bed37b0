#include "src/query/query_index.h"

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "arbiter/v1/principal.pb.h"
#include "src/internal/hashing.h"

namespace arbiter {
namespace internal {
namespace {

constexpr int kNumKinds = 6;

// Indices [0, n) of one kind, sorted by id (bytewise). A full compile lays
// each kind out in id order already; a derived snapshot appends.
template <typename IdOf>
void SortById(std::vector<uint32_t>* v, IdOf&& id_of) {
  bool sorted = true;
  for (size_t i = 1; i < v->size() && sorted; ++i) {
    sorted = id_of((*v)[i - 1]) < id_of((*v)[i]);
  }
  if (!sorted) {
    std::sort(v->begin(), v->end(),
              [&](uint32_t a, uint32_t b) { return id_of(a) < id_of(b); });
  }
}

struct TmpMember {
  MemberEntry entry;
  RoleSig sig;
};

// Turns rows of (entry, signature) into a MemberTable: each row's distinct
// signatures, and each entry's index among them.
MemberTable MakeTable(Rows<TmpMember>&& rows, bool masks,
                      size_t num_principals) {
  MemberTable table;
  table.entries.begin = rows.begin;
  table.entries.items.reserve(rows.items.size());
  table.sigs.begin.assign(rows.begin.size(), 0);
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint32_t> intern;
  for (size_t r = 0; r + 1 < rows.begin.size(); ++r) {
    intern.clear();
    const uint32_t first_sig = static_cast<uint32_t>(table.sigs.items.size());
    for (uint32_t i = rows.begin[r]; i < rows.begin[r + 1]; ++i) {
      MemberEntry e = rows.items[i].entry;
      if (masks && e.sig != kIrregular) {
        const RoleSig& sig = rows.items[i].sig;
        auto [it, added] = intern.try_emplace(
            std::make_pair(sig.at0, sig.at1),
            static_cast<uint32_t>(table.sigs.items.size() - first_sig));
        if (added) table.sigs.items.push_back(sig);
        e.sig = it->second;
      } else {
        e.sig = kIrregular;
      }
      table.entries.items.push_back(e);
    }
    table.sigs.begin[r + 1] = static_cast<uint32_t>(table.sigs.items.size());
  }
  // Positions by signature, and the irregular ones by row.
  std::vector<uint32_t> sig_row, sig_items, irregular_row, irregular_items;
  for (size_t r = 0; r + 1 < table.entries.begin.size(); ++r) {
    const uint32_t first = table.entries.begin[r];
    const uint32_t first_sig = table.sigs.begin[r];
    for (uint32_t i = first; i < table.entries.begin[r + 1]; ++i) {
      const MemberEntry& e = table.entries.items[i];
      if (e.sig == kIrregular) {
        irregular_row.push_back(static_cast<uint32_t>(r));
        irregular_items.push_back(i - first);
      } else {
        sig_row.push_back(first_sig + e.sig);
        sig_items.push_back(i - first);
      }
    }
  }
  table.members_of_sig =
      BuildRows(table.sigs.items.size(), sig_row, std::move(sig_items));
  table.irregular = BuildRows(table.entries.rows(), irregular_row,
                              std::move(irregular_items));
  std::vector<uint32_t> place_row;
  std::vector<MemberTable::Place> place_items;
  for (size_t r = 0; r + 1 < table.entries.begin.size(); ++r) {
    const uint32_t first = table.entries.begin[r];
    for (uint32_t i = first; i < table.entries.begin[r + 1]; ++i) {
      place_row.push_back(table.entries.items[i].principal);
      place_items.push_back({static_cast<uint32_t>(r), i - first});
    }
  }
  table.places = BuildRows(num_principals, place_row, std::move(place_items));
  return table;
}

// Deterministic across processes of one build (std::hash of bytes has no
// per-process seed), unlike absl::Hash.
class Digester {
 public:
  void Bytes(const void* data, size_t n) {
    const uint64_t h = std::hash<std::string_view>()(
        std::string_view(static_cast<const char*>(data), n));
    state_ = hashing_internal::Mix(
        state_ ^ (h + 0x9e3779b97f4a7c15ull + (state_ << 6) + (state_ >> 2)));
  }
  void Words(const std::vector<uint64_t>& w) {
    Bytes(w.data(), w.size() * sizeof(uint64_t));
  }
  void Strings(const StringColumn& c) {
    const uint64_t n = c.size();
    Bytes(&n, sizeof(n));
    if (n > 0) Bytes(c.data(), c.Offset(static_cast<uint32_t>(n)));
  }
  uint64_t value() const { return state_; }

 private:
  uint64_t state_ = 0x243f6a8885a308d3ull;
};

// Node indices by kind, each kind sorted by id (so in rank order); sets
// ix->node_rank.
void RankNodes(const Snapshot& s, QueryIndex* ix,
               std::vector<uint32_t> (&by_kind)[kNumKinds]) {
  const uint32_t num_nodes = static_cast<uint32_t>(s.nodes.size());
  for (uint32_t n = 0; n < num_nodes; ++n) {
    by_kind[static_cast<int>(s.nodes[n].kind)].push_back(n);
  }
  ix->node_rank.assign(num_nodes, 0);
  for (auto& nodes : by_kind) {
    SortById(&nodes, [&](uint32_t n) { return s.node_ids.Get(n); });
    for (uint32_t i = 0; i < nodes.size(); ++i) ix->node_rank[nodes[i]] = i;
  }
}

// The principals sorted by id; sets ix->principal_rank, ix->active_org and
// ix->service_account.
std::vector<uint32_t> RankPrincipals(const Snapshot& s, QueryIndex* ix) {
  const uint32_t num_principals = static_cast<uint32_t>(s.principals.size());
  std::vector<uint32_t> principals(num_principals);
  for (uint32_t p = 0; p < num_principals; ++p) principals[p] = p;
  SortById(&principals, [&](uint32_t p) { return s.principal_ids.Get(p); });
  ix->principal_rank.assign(num_principals, 0);
  for (uint32_t i = 0; i < num_principals; ++i) {
    ix->principal_rank[principals[i]] = i;
  }
  ix->active_org.assign(num_principals, kNone);
  ix->service_account.assign(num_principals, 0);
  for (uint32_t p = 0; p < num_principals; ++p) {
    const PrincipalRec& rec = s.Principal(p);
    if (rec.state != v1::PRINCIPAL_STATE_DELETED &&
        rec.state != v1::PRINCIPAL_STATE_INVITED) {
      ix->active_org[p] = rec.org;
    }
    ix->service_account[p] = rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
  }
  return principals;
}

// Builds the tree's rows: each kind visited in rank order keeps rows sorted.
// row_ and items_ are scratch buffers shared by the rows built.
class TreeBuilder {
 public:
  TreeBuilder(const Snapshot& s,
              const std::vector<uint32_t> (&by_kind)[kNumKinds], QueryIndex* ix)
      : s_(s), by_kind_(by_kind), ix_(ix) {}

  // Builds every row of the tree into the index.
  void Run();

 private:
  // Rows of `rows` rows of the nodes of `kind`, by row_of(node) (kNone:
  // skipped), each row in rank order.
  template <typename RowOf>
  Rows<uint32_t> Build(NodeKind kind, RowOf&& row_of, size_t rows) {
    row_.clear();
    items_.clear();
    for (uint32_t n : by_kind_[int(kind)]) {
      const uint32_t r = row_of(n);
      if (r == kNone) continue;
      row_.push_back(r);
      items_.push_back(n);
    }
    return BuildRows(rows, row_, std::move(items_));
  }

  // A node's ancestor at `level`, as a row_of.
  auto Path(int level) const {
    const Snapshot* s = &s_;
    return [s, level](uint32_t n) { return s->nodes[n].path[level]; };
  }

  // ix->class_clouds: clouds by rank, each cloud's classes (from
  // class_projects), so that rows stay in rank order.
  void BuildClassClouds() {
    row_.clear();
    items_.clear();
    for (uint32_t c : by_kind_[int(NodeKind::kCloud)]) {
      for (uint32_t f = 0; f < 4; ++f) {
        if (!ix_->class_projects[size_t{c} * 4 + f].empty()) {
          row_.push_back(s_.nodes[c].path[kOrgLevel] * 4 + f);
          items_.push_back(c);
        }
      }
    }
    const uint32_t num_nodes = static_cast<uint32_t>(s_.nodes.size());
    ix_->class_clouds =
        BuildRows(size_t{num_nodes} * 4, row_, std::move(items_));
  }

  // Puts each principal's row of ix->created_by in tree order.
  void SortCreatedBy() {
    QueryIndex* const ix = ix_;
    const uint32_t num_principals = static_cast<uint32_t>(s_.principals.size());
    for (size_t p = 0; p < num_principals; ++p) {
      auto first = ix->created_by.items.begin() + ix->created_by.begin[p];
      auto last = ix->created_by.items.begin() + ix->created_by.begin[p + 1];
      std::sort(first, last, [&](uint32_t a, uint32_t b) {
        const QueryIndex::Key ka = ix->KeyOf(a), kb = ix->KeyOf(b);
        return std::tie(ka.cloud, ka.project, ka.leaf) <
               std::tie(kb.cloud, kb.project, kb.leaf);
      });
    }
  }

  const Snapshot& s_;
  const std::vector<uint32_t> (&by_kind_)[kNumKinds];
  QueryIndex* const ix_;
  std::vector<uint32_t> row_, items_;
};

void TreeBuilder::Run() {
  const Snapshot& s = s_;
  const uint32_t num_nodes = static_cast<uint32_t>(s.nodes.size());
  const uint32_t num_principals = static_cast<uint32_t>(s.principals.size());
  QueryIndex* const ix = ix_;
  ix->clouds_of_org = Build(NodeKind::kCloud, Path(kOrgLevel), num_nodes);
  ix->images_of_org = Build(NodeKind::kImage, Path(kOrgLevel), num_nodes);
  ix->projects_of_cloud =
      Build(NodeKind::kProject, Path(kCloudLevel), num_nodes);
  ix->project_classes.begin = ix->projects_of_cloud.begin;
  ix->project_classes.items.reserve(ix->projects_of_cloud.items.size());
  for (uint32_t x : ix->projects_of_cloud.items) {
    ix->project_classes.items.push_back(s.nodes[x].project_flags & 3);
  }
  ix->class_projects = Build(
      NodeKind::kProject,
      [&](uint32_t n) {
        const Node& node = s.nodes[n];
        return node.path[kCloudLevel] * 4 + (node.project_flags & 3);
      },
      size_t{num_nodes} * 4);
  BuildClassClouds();
  ix->configs_of_cloud =
      Build(NodeKind::kComputeConfig, Path(kCloudLevel), num_nodes);
  ix->workloads_of_project =
      Build(NodeKind::kWorkload, Path(kProjectLevel), num_nodes);
  ix->created_by = Build(
      NodeKind::kWorkload,
      [&](uint32_t n) {
        const uint32_t c = s.node_creator[n];
        return c < num_principals ? c : kNone;
      },
      num_principals);
  SortCreatedBy();
}

// ix->grants_at: every subject's live grant slots, by scope.
void BuildGrantsAt(const Snapshot& s, QueryIndex* ix) {
  const uint32_t num_nodes = static_cast<uint32_t>(s.nodes.size());
  std::vector<uint32_t> row, items;
  for (uint32_t subject = 0; subject < s.num_subjects(); ++subject) {
    const GrantSpan span = s.SubjectSpan(subject);
    for (uint32_t i = span.begin; i < span.end; ++i) {
      row.push_back(s.grants[i].scope);
      items.push_back(i);
    }
  }
  ix->grants_at = BuildRows(num_nodes, row, std::move(items));
}

// Group reach and member tables: Add each principal in rank order, then
// Finish.
class PrincipalTables {
 public:
  PrincipalTables(const Snapshot& s, const QueryIndex& ix)
      : s_(s),
        ix_(ix),
        num_principals_(static_cast<uint32_t>(s.principals.size())),
        num_groups_(static_cast<uint32_t>(s.group_spans.size())),
        masks_(s.mask_path) {}

  // Adds active principal `p`'s rows (none if deleted or invited: Check
  // denies them everything).
  void Add(uint32_t p) {
    const PrincipalRec& rec = s_.Principal(p);
    if (rec.state == v1::PRINCIPAL_STATE_DELETED ||
        rec.state == v1::PRINCIPAL_STATE_INVITED) {
      return;
    }
    active_row_.push_back(rec.org);
    active_items_.push_back(p);
    Gathered g;
    g.org_irregular = !masks_;
    accs_.clear();
    Visit(rec, rec.grants, &g);
    for (uint32_t gi = rec.groups_begin; gi < rec.groups_end; ++gi) {
      const GrantSpan span = s_.principal_groups[gi];
      if (span.begin < span.end) {
        const uint32_t subject = s_.SubjectOfGrant(span.begin);
        if (subject >= num_principals_ &&
            subject - num_principals_ < num_groups_) {
          reach_row_.push_back(subject - num_principals_);
          reach_items_.push_back(p);
        }
      }
      Visit(rec, span, &g);
    }
    AddEntries(p, rec, g);
  }

  // Moves the rows gathered into the index.
  void Finish(QueryIndex* ix) {
    const uint32_t num_nodes = static_cast<uint32_t>(s_.nodes.size());
    ix->reach_of_group =
        BuildRows(num_groups_, reach_row_, std::move(reach_items_));
    ix->bypass_entries =
        BuildRows(num_nodes, bypass_row_, std::move(bypass_entries_));
    ix->bypass_holders =
        BuildRows(num_nodes, bypass_row_, std::move(bypass_items_));
    ix->principals_of_org =
        BuildRows(num_nodes, active_row_, std::move(active_items_));
    ix->org_members =
        MakeTable(BuildRows(num_nodes, org_row_, std::move(org_items_)), masks_,
                  num_principals_);
    ix->org_holders =
        MakeTable(BuildRows(num_nodes, holder_row_, std::move(holder_items_)),
                  masks_, num_principals_);
    ix->cloud_members =
        MakeTable(BuildRows(num_nodes, cloud_row_, std::move(cloud_items_)),
                  masks_, num_principals_);
  }

 private:
  // The roles one principal's grants give at one cloud.
  struct CloudAcc {
    uint32_t cloud;
    uint64_t at1;
    uint32_t least;
    bool irregular;
  };
  // What one principal's grants give at its organization.
  struct Gathered {
    uint64_t at0 = 0;
    uint32_t least_org = kNone;
    bool org_irregular = false;
    bool has_org = false, bypass = false;
  };

  // Gathers the grants of `span` at rec's organization into *g and at
  // clouds into accs_.
  void Visit(const PrincipalRec& rec, GrantSpan span, Gathered* g) {
    for (uint32_t i = span.begin; i < span.end; ++i) {
      const GrantRec& grant = s_.grants[i];
      const uint64_t bit = grant.role < 64 ? uint64_t{1} << grant.role : 0;
      const bool expiring = (grant.flags & kExpiring) != 0;
      if (grant.level == kOrgLevel) {
        if (grant.scope != rec.org) continue;
        g->has_org = true;
        g->at0 |= bit;
        if (g->least_org == kNone) g->least_org = i;
        g->org_irregular |= expiring;
        const RoleRec& role = s_.roles[grant.role];
        g->bypass |= role.all_permissions && !role.deny;
      } else if (grant.level == kCloudLevel) {
        auto it = std::find_if(
            accs_.begin(), accs_.end(),
            [&](const CloudAcc& a) { return a.cloud == grant.scope; });
        if (it == accs_.end()) {
          accs_.push_back({grant.scope, 0, i, false});
          it = accs_.end() - 1;
        }
        it->at1 |= bit;
        it->irregular |= expiring;
      }
    }
  }

  // Adds p's entries to the org, holder, bypass and cloud rows.
  void AddEntries(uint32_t p, const PrincipalRec& rec, const Gathered& g) {
    const uint32_t rank = ix_.principal_rank[p];
    const bool sa = rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
    MemberEntry e{rank,        p,     g.org_irregular ? kIrregular : 0,
                  g.least_org, kNone, sa};
    org_row_.push_back(rec.org);
    org_items_.push_back({e, RoleSig{g.at0, 0}});
    if (g.has_org) {
      holder_row_.push_back(rec.org);
      holder_items_.push_back({e, RoleSig{g.at0, 0}});
    }
    if (g.bypass) {
      bypass_row_.push_back(rec.org);
      bypass_items_.push_back(p);
      bypass_entries_.push_back({e, RoleSig{g.at0, 0}});
    }
    for (const CloudAcc& a : accs_) {
      MemberEntry c{
          rank,        p,       g.org_irregular || a.irregular ? kIrregular : 0,
          g.least_org, a.least, sa};
      cloud_row_.push_back(a.cloud);
      cloud_items_.push_back({c, RoleSig{g.at0, a.at1}});
    }
  }

  const Snapshot& s_;
  const QueryIndex& ix_;
  const uint32_t num_principals_;
  const uint32_t num_groups_;
  const bool masks_;
  std::vector<uint32_t> reach_row_, reach_items_;
  std::vector<uint32_t> org_row_, holder_row_, cloud_row_, bypass_row_,
      bypass_items_, active_row_, active_items_;
  std::vector<TmpMember> org_items_, holder_items_, cloud_items_;
  std::vector<QueryIndex::OwnerEntry> bypass_entries_;
  std::vector<CloudAcc> accs_;  // the current principal's, reused
};

}  // namespace

std::unique_ptr<const QueryIndex> QueryIndex::Build(const Snapshot& s) {
  auto ix = std::make_unique<QueryIndex>();
  ix->s = &s;
  std::vector<uint32_t> by_kind[kNumKinds];
  RankNodes(s, ix.get(), by_kind);
  const std::vector<uint32_t> principals = RankPrincipals(s, ix.get());
  TreeBuilder(s, by_kind, ix.get()).Run();
  BuildGrantsAt(s, ix.get());
  PrincipalTables tables(s, *ix);
  for (uint32_t p : principals) tables.Add(p);
  tables.Finish(ix.get());
  return ix;
}

QueryIndex::Key QueryIndex::KeyOf(uint32_t n) const {
  const Node& node = s->nodes[n];
  auto rank = [&](uint32_t m) { return m == kNone ? kNone : node_rank[m]; };
  Key k{kNone, kNone, kNone};
  switch (node.kind) {
    case NodeKind::kOrg:
    case NodeKind::kImage:
      k.leaf = node_rank[n];
      break;
    case NodeKind::kCloud:
      k.cloud = node_rank[n];
      break;
    case NodeKind::kProject:
      k.cloud = rank(node.path[kCloudLevel]);
      k.project = node_rank[n];
      break;
    case NodeKind::kComputeConfig:
      k.cloud = rank(node.path[kCloudLevel]);
      k.leaf = node_rank[n];
      break;
    case NodeKind::kWorkload:
      k.cloud = rank(node.path[kCloudLevel]);
      k.project = rank(node.path[kProjectLevel]);
      k.leaf = node_rank[n];
      break;
  }
  return k;
}

uint64_t QueryIndex::digest() const {
  absl::call_once(digest_once_, [this] {
    const Snapshot& snap = *s;
    Digester d;
    const uint64_t counts[] = {snap.nodes.size(),       snap.principals.size(),
                               snap.group_spans.size(), snap.grants.size(),
                               snap.num_grants,         snap.permissions.size(),
                               snap.roles.size()};
    d.Bytes(counts, sizeof(counts));
    d.Strings(snap.node_ids);
    d.Strings(snap.principal_ids);
    d.Strings(snap.group_ids);
    d.Strings(snap.permission_names);
    d.Strings(snap.role_names);
    const std::string profile = snap.profile->SerializeAsString();
    d.Bytes(profile.data(), profile.size());
    std::vector<uint64_t> w;
    auto flush = [&](bool force) {
      if (w.size() >= 4096 || (force && !w.empty())) {
        d.Words(w);
        w.clear();
      }
    };
    for (uint32_t n = 0; n < snap.nodes.size(); ++n) {
      const Node& node = snap.nodes[n];
      w.push_back((uint64_t{node.path[0]} << 32) | node.path[1]);
      w.push_back((uint64_t{node.path[2]} << 32) |
                  (uint64_t{static_cast<uint8_t>(node.kind)} << 16) |
                  (uint64_t{node.flags} << 8) | node.project_flags);
      w.push_back(snap.node_creator[n]);
      flush(false);
    }
    for (uint32_t p = 0; p < snap.principals.size(); ++p) {
      const PrincipalRec& rec = snap.Principal(p);
      w.push_back((uint64_t{rec.org} << 32) | (uint64_t{rec.kind} << 8) |
                  rec.state);
      for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
        const GrantSpan span = snap.principal_groups[g];
        w.push_back(span.begin < span.end ? snap.SubjectOfGrant(span.begin)
                                          : kNone);
      }
      flush(false);
    }
    for (uint32_t subject = 0; subject < snap.num_subjects(); ++subject) {
      const GrantSpan span = snap.SubjectSpan(subject);
      w.push_back((uint64_t{subject} << 32) | (span.end - span.begin));
      for (uint32_t i = span.begin; i < span.end; ++i) {
        const GrantRec& g = snap.grants[i];
        w.push_back((uint64_t{g.scope} << 32) | (uint64_t{g.role} << 16) |
                    (uint64_t{g.source} << 8) | g.flags);
        w.push_back(static_cast<uint64_t>(snap.GrantExpires(i)));
        const absl::string_view id = snap.GrantId(i);
        w.push_back(std::hash<std::string_view>()(
            std::string_view(id.data(), id.size())));
      }
      flush(false);
    }
    flush(true);
    digest_ = d.value();
  });
  return digest_;
}

size_t QueryIndex::MemoryUsage() const {
  return sizeof(*this) + node_rank.capacity() * sizeof(uint32_t) +
         principal_rank.capacity() * sizeof(uint32_t) +
         active_org.capacity() * sizeof(uint32_t) + service_account.capacity() +
         clouds_of_org.MemoryUsage() + images_of_org.MemoryUsage() +
         class_clouds.MemoryUsage() + projects_of_cloud.MemoryUsage() +
         class_projects.MemoryUsage() + project_classes.MemoryUsage() +
         configs_of_cloud.MemoryUsage() + workloads_of_project.MemoryUsage() +
         created_by.MemoryUsage() + grants_at.MemoryUsage() +
         reach_of_group.MemoryUsage() + org_members.MemoryUsage() +
         org_holders.MemoryUsage() + cloud_members.MemoryUsage() +
         bypass_holders.MemoryUsage() + bypass_entries.MemoryUsage() +
         principals_of_org.MemoryUsage();
}

}  // namespace internal
}  // namespace arbiter
