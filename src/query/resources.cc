// LookupResources: the walk from a principal's grants to the resources it
// can reach.
//
// Why it is exact. Check decides (principal, permission, resource) on the
// resource's path up to the permission's level (the anchor): a resource
// decides as its anchor does, except a workload the principal created
// (own-workload permissions). And on an anchor the principal holds no grant
// at, the decision depends only on what it holds above: every project of
// one class (public or private, default or not) of one cloud decides alike,
// and every cloud (or project of one class) where it holds nothing decides
// alike ("generic"). So the walk decides, with internal::Evaluate (Check's
// own path), once per class of each cloud it holds a grant at, once per
// generic class, once per project it holds a grant at, and once per
// workload it created; every other resource takes its class's decision.
//
// Why it is fast. It visits a cloud only if the principal holds a grant
// there or a generic decision allows (an org owner), and a project only if
// its class's decision allows or the principal holds a grant on it or
// created a workload in it: the resources it cannot reach are not walked.

#include <algorithm>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "src/eval/evaluator.h"
#include "src/query/decide_util.h"
#include "src/query/lookups.h"

namespace arbiter {
namespace internal {
namespace {

constexpr int kClasses = 4;  // project_flags & 3

// Scratch lists of nodes: a typical principal's fit inline (no allocation).
using NodeList = absl::InlinedVector<uint32_t, 32>;

class ResourceWalk {
 public:
  ResourceWalk(const QueryIndex& ix, const ResourcesQuery& q,
               std::vector<ResourceMatch>* out, std::vector<uint32_t>* nodes)
      : s_(*ix.s), ix_(ix), q_(q), out_(out), nodes_(nodes) {}

  void Run() {
    const PrincipalRec& rec = s_.Principal(q_.principal);
    if (DeniedEverything(rec, q_.context.channel)) return;
    const Node& within = s_.nodes[q_.within];
    org_ = within.path[kOrgLevel];
    if (rec.org != org_) return;  // CROSS_ORG everywhere
    top_ = s_.permissions[q_.permission].level;
    const int depth = KindDepth(q_.kind);
    if (top_ > depth) return;  // PERMISSION_NOT_APPLICABLE everywhere
    within_kind_ = within.kind;
    if (within_kind_ != NodeKind::kOrg &&
        (q_.kind == NodeKind::kOrg || q_.kind == NodeKind::kImage)) {
      return;  // not under a cloud or project
    }
    if (within_kind_ == NodeKind::kProject &&
        (q_.kind == NodeKind::kCloud || q_.kind == NodeKind::kComputeConfig)) {
      return;
    }
    if (q_.resume) start_ = ix_.KeyOf(q_.after);
    if (top_ >= kCloudLevel) CollectScopes(rec);

    switch (q_.kind) {
      case NodeKind::kOrg: {
        const Decision d = Decide(org_);
        if (d.allowed() && !q_.resume) Emit(org_, d);
        return;
      }
      case NodeKind::kImage: {
        const Decision d = Decide(org_);
        if (!d.allowed()) return;
        for (uint32_t img : From(ix_.images_of_org[org_], start_.leaf, true)) {
          if (!Emit(img, d)) return;
        }
        return;
      }
      default:
        WalkClouds();
    }
  }

 private:
  static int KindDepth(NodeKind kind) {
    switch (kind) {
      case NodeKind::kOrg:
      case NodeKind::kImage:
        return kOrgLevel;
      case NodeKind::kCloud:
      case NodeKind::kComputeConfig:
        return kCloudLevel;
      default:
        return kProjectLevel;
    }
  }

  uint32_t Rank(uint32_t node) const { return ix_.node_rank[node]; }

  // The suffix of `row` (sorted by rank) after rank `after` (strictly
  // after, or from it when !strict), or all of it when not resuming.
  absl::Span<const uint32_t> From(absl::Span<const uint32_t> row,
                                  uint32_t after, bool strict) const {
    if (!q_.resume || after == kNone) return row;
    auto it = strict ? std::upper_bound(
                           row.begin(), row.end(), after,
                           [&](uint32_t r, uint32_t n) { return r < Rank(n); })
                     : std::lower_bound(
                           row.begin(), row.end(), after,
                           [&](uint32_t n, uint32_t r) { return Rank(n) < r; });
    return row.subspan(it - row.begin());
  }

  Decision Decide(uint32_t node) const {
    return Evaluate(s_, q_.principal, q_.permission, node, q_.context,
                    q_.revision);
  }

  bool Emit(uint32_t node, const Decision& d) {
    if (out_->size() >= q_.limit) return false;
    if (out_->size() == out_->capacity()) {
      // A large answer: grow sixteenfold, not twofold, so that it is copied
      // once or twice, not a dozen times (untouched pages cost nothing).
      const size_t grow = std::min(q_.limit, out_->capacity() * 16 + 16);
      out_->reserve(grow);
      nodes_->reserve(grow);
    }
    // Written in place: a match assembled on the stack and copied whole
    // stalls on store forwarding, a third of the cost of a result.
    ResourceMatch& m = out_->emplace_back();
    m.id = s_.node_ids.Get(node);
    m.kind = static_cast<ResourceKind>(q_.kind);
    m.decision = d;
    nodes_->push_back(node);
    return out_->size() < q_.limit;
  }
  bool full() const { return out_->size() >= q_.limit; }

  // The clouds and projects the principal (or one of its groups) holds a
  // grant at, live or not: the only anchors whose decision can differ from
  // their class's.
  void CollectScopes(const PrincipalRec& rec) {
    auto visit = [&](GrantSpan span) {
      for (uint32_t i = span.begin; i < span.end; ++i) {
        const GrantRec& g = s_.grants[i];
        if (g.level == kCloudLevel) {
          cloud_scopes_.push_back(g.scope);
        } else if (g.level == kProjectLevel) {
          project_scopes_.push_back(g.scope);
        }
      }
    };
    visit(rec.grants);
    for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
      visit(s_.principal_groups[g]);
    }
    auto by_rank = [&](uint32_t a, uint32_t b) { return Rank(a) < Rank(b); };
    std::sort(cloud_scopes_.begin(), cloud_scopes_.end(), by_rank);
    cloud_scopes_.erase(std::unique(cloud_scopes_.begin(), cloud_scopes_.end()),
                        cloud_scopes_.end());
    std::sort(project_scopes_.begin(), project_scopes_.end(),
              [&](uint32_t a, uint32_t b) { return ProjectLess(a, b); });
    project_scopes_.erase(
        std::unique(project_scopes_.begin(), project_scopes_.end()),
        project_scopes_.end());
    created_ = ix_.created_by[q_.principal];
  }

  // Tree order of projects: (cloud rank, rank).
  bool ProjectLess(uint32_t a, uint32_t b) const {
    const uint32_t ca = Rank(s_.nodes[a].path[kCloudLevel]);
    const uint32_t cb = Rank(s_.nodes[b].path[kCloudLevel]);
    return ca != cb ? ca < cb : Rank(a) < Rank(b);
  }

  bool InCloudScopes(uint32_t cloud) const {
    return std::binary_search(
        cloud_scopes_.begin(), cloud_scopes_.end(), cloud,
        [&](uint32_t a, uint32_t b) { return Rank(a) < Rank(b); });
  }
  bool InProjectScopes(uint32_t project) const {
    return std::binary_search(
        project_scopes_.begin(), project_scopes_.end(), project,
        [&](uint32_t a, uint32_t b) { return ProjectLess(a, b); });
  }

  // The project scopes of `cloud` (a contiguous run).
  absl::Span<const uint32_t> ProjectScopesOf(uint32_t cloud) const {
    const uint32_t cr = Rank(cloud);
    auto cloud_rank = [&](uint32_t p) {
      return Rank(s_.nodes[p].path[kCloudLevel]);
    };
    auto lo = std::lower_bound(
        project_scopes_.begin(), project_scopes_.end(), cr,
        [&](uint32_t p, uint32_t r) { return cloud_rank(p) < r; });
    auto hi = std::upper_bound(
        lo, project_scopes_.end(), cr,
        [&](uint32_t r, uint32_t p) { return r < cloud_rank(p); });
    return absl::Span<const uint32_t>(project_scopes_)
        .subspan(lo - project_scopes_.begin(), hi - lo);
  }
  // The workloads the principal created in `cloud` (a contiguous run of
  // created_, which is in tree order).
  absl::Span<const uint32_t> CreatedIn(uint32_t cloud) const {
    const uint32_t cr = Rank(cloud);
    auto cloud_rank = [&](uint32_t w) {
      return Rank(s_.nodes[w].path[kCloudLevel]);
    };
    auto lo = std::lower_bound(
        created_.begin(), created_.end(), cr,
        [&](uint32_t w, uint32_t r) { return cloud_rank(w) < r; });
    auto hi = std::upper_bound(
        lo, created_.end(), cr,
        [&](uint32_t r, uint32_t w) { return r < cloud_rank(w); });
    return created_.subspan(lo - created_.begin(), hi - lo);
  }

  // ---- Generic decisions: anchors where the principal holds nothing ----

  // A cloud of the organization without a grant of the principal's.
  const Decision* GenericCloud() {
    if (!generic_cloud_done_) {
      generic_cloud_done_ = true;
      for (uint32_t c : ix_.clouds_of_org[org_]) {
        if (!InCloudScopes(c)) {
          generic_cloud_ = Decide(c);
          has_generic_cloud_ = true;
          break;
        }
      }
    }
    return has_generic_cloud_ ? &generic_cloud_ : nullptr;
  }

  // A project of class f, in a cloud without a grant of the principal's,
  // without a grant of its own.
  const Decision* GenericProject(int f) {
    if (!generic_project_done_[f]) {
      generic_project_done_[f] = true;
      for (uint32_t c : ix_.class_clouds[size_t{org_} * kClasses + f]) {
        if (InCloudScopes(c)) continue;
        const uint32_t rep = Representative(c, f);
        if (rep != kNone) {
          generic_project_[f] = Decide(rep);
          has_generic_project_[f] = true;
          break;
        }
      }
    }
    return has_generic_project_[f] ? &generic_project_[f] : nullptr;
  }

  bool AnyGenericProjectAllows() {
    for (int f = 0; f < kClasses; ++f) {
      const Decision* d = GenericProject(f);
      if (d != nullptr && d->allowed()) return true;
    }
    return false;
  }

  // The first project of class f of cloud c without a grant of the
  // principal's, or kNone.
  uint32_t Representative(uint32_t c, int f) const {
    for (uint32_t p : ix_.class_projects[size_t{c} * kClasses + f]) {
      if (!InProjectScopes(p)) return p;
    }
    return kNone;
  }

  // ---- Per cloud ----

  // The decision on cloud c itself (cloud-level permissions), or for every
  // resource under it at top 0.
  const Decision* CloudDecision(uint32_t c) {
    if (top_ == kOrgLevel) return &org_decision_;
    if (cloud_done_ != c) {
      cloud_done_ = c;
      if (InCloudScopes(c)) {
        cloud_decision_ = Decide(c);
        cloud_ptr_ = &cloud_decision_;
      } else {
        cloud_ptr_ = GenericCloud();
      }
    }
    return cloud_ptr_;
  }

  // The decision for projects of class f in cloud c without a grant of
  // their own (top 2); nullptr when there is none such.
  const Decision* ClassDecision(uint32_t c, int f) {
    if (class_cloud_ != c) {
      class_cloud_ = c;
      for (int i = 0; i < kClasses; ++i) class_done_[i] = false;
      in_scopes_ = InCloudScopes(c);
    }
    if (!in_scopes_) return GenericProject(f);
    if (!class_done_[f]) {
      class_done_[f] = true;
      const uint32_t rep = Representative(c, f);
      class_ptr_[f] = nullptr;
      if (rep != kNone) {
        class_decision_[f] = Decide(rep);
        class_ptr_[f] = &class_decision_[f];
      }
    }
    return class_ptr_[f];
  }

  void WalkClouds() {
    if (top_ == kOrgLevel) {
      org_decision_ = Decide(org_);
      if (!org_decision_.allowed()) return;
    }
    NodeList clouds;
    absl::Span<const uint32_t> list;
    if (within_kind_ == NodeKind::kCloud) {
      clouds.push_back(q_.within);
      list = clouds;
    } else if (within_kind_ == NodeKind::kProject) {
      clouds.push_back(s_.nodes[q_.within].path[kCloudLevel]);
      list = clouds;
    } else if (top_ == kOrgLevel) {
      list = ix_.clouds_of_org[org_];
    } else if (top_ == kCloudLevel) {
      const Decision* g = GenericCloud();
      if (g != nullptr && g->allowed()) {
        list = ix_.clouds_of_org[org_];
      } else {
        list = cloud_scopes_;
      }
    } else if (AnyGenericProjectAllows()) {
      list = ix_.clouds_of_org[org_];
    } else {
      // The clouds of the principal's grants and created workloads.
      clouds = cloud_scopes_;
      for (uint32_t p : project_scopes_) {
        clouds.push_back(s_.nodes[p].path[kCloudLevel]);
      }
      for (uint32_t w : created_) {
        clouds.push_back(s_.nodes[w].path[kCloudLevel]);
      }
      auto by_rank = [&](uint32_t a, uint32_t b) { return Rank(a) < Rank(b); };
      std::sort(clouds.begin(), clouds.end(), by_rank);
      clouds.erase(std::unique(clouds.begin(), clouds.end()), clouds.end());
      list = clouds;
    }
    for (uint32_t c : From(list, start_.cloud, false)) {
      const bool first = q_.resume && Rank(c) == start_.cloud;
      switch (q_.kind) {
        case NodeKind::kCloud: {
          if (first) continue;
          const Decision* d = CloudDecision(c);
          if (d != nullptr && d->allowed() && !Emit(c, *d)) return;
          break;
        }
        case NodeKind::kComputeConfig: {
          const Decision* d = CloudDecision(c);
          if (d == nullptr || !d->allowed()) break;
          for (uint32_t cc : From(ix_.configs_of_cloud[c],
                                  first ? start_.leaf : kNone, true)) {
            if (!Emit(cc, *d)) return;
          }
          break;
        }
        default:
          WalkProjects(c, first);
      }
      if (full()) return;
    }
  }

  // The projects of cloud c to visit, in rank order: every project whose
  // decision may allow, and those holding a workload the principal created.
  void ProjectsToVisit(uint32_t c, NodeList* out) {
    out->clear();
    if (within_kind_ == NodeKind::kProject) {
      out->push_back(q_.within);
      return;
    }
    const bool workloads = q_.kind == NodeKind::kWorkload;
    absl::Span<const uint32_t> created = CreatedIn(c);
    if (top_ <= kCloudLevel) {
      const Decision* d = CloudDecision(c);
      if (d != nullptr && d->allowed()) {
        const auto all = ix_.projects_of_cloud[c];
        out->assign(all.begin(), all.end());
      } else if (workloads) {
        for (uint32_t w : created) {
          const uint32_t p = s_.nodes[w].path[kProjectLevel];
          if (out->empty() || out->back() != p) out->push_back(p);
        }
      }
      return;
    }
    // Top 2: merge the allowed classes, the granted projects and the
    // projects of created workloads, by rank.
    absl::Span<const uint32_t> src[kClasses + 2];
    int n = 0;
    for (int f = 0; f < kClasses; ++f) {
      const Decision* d = ClassDecision(c, f);
      if (d != nullptr && d->allowed()) {
        src[n++] = ix_.class_projects[size_t{c} * kClasses + f];
      }
    }
    src[n++] = ProjectScopesOf(c);
    if (workloads && !created.empty()) {
      created_projects_.clear();
      for (uint32_t w : created) {
        const uint32_t p = s_.nodes[w].path[kProjectLevel];
        if (created_projects_.empty() || created_projects_.back() != p) {
          created_projects_.push_back(p);
        }
      }
      src[n++] = created_projects_;
    }
    size_t pos[kClasses + 2] = {};
    for (;;) {
      uint32_t best = kNone, best_rank = kNone;
      for (int i = 0; i < n; ++i) {
        if (pos[i] < src[i].size()) {
          const uint32_t r = Rank(src[i][pos[i]]);
          if (r < best_rank) best_rank = r, best = src[i][pos[i]];
        }
      }
      if (best == kNone) break;
      out->push_back(best);
      for (int i = 0; i < n; ++i) {
        if (pos[i] < src[i].size() && src[i][pos[i]] == best) ++pos[i];
      }
    }
  }

  void WalkProjects(uint32_t c, bool first_cloud) {
    NodeList& projects = projects_;
    ProjectsToVisit(c, &projects);
    const bool workloads = q_.kind == NodeKind::kWorkload;
    absl::Span<const uint32_t> created = CreatedIn(c);
    for (uint32_t p :
         From(projects, first_cloud ? start_.project : kNone, false)) {
      const bool first = first_cloud && Rank(p) == start_.project;
      const Decision* dp = nullptr;
      if (top_ <= kCloudLevel) {
        dp = CloudDecision(c);
      } else if (InProjectScopes(p)) {
        project_decision_ = Decide(p);
        dp = &project_decision_;
      } else {
        dp = ClassDecision(c, s_.nodes[p].project_flags & 3);
      }
      const bool allowed = dp != nullptr && dp->allowed();
      if (!workloads) {
        if (first) continue;
        if (allowed && !Emit(p, *dp)) return;
        continue;
      }
      const uint32_t after = first ? start_.leaf : kNone;
      if (allowed) {
        // Its own workloads here (a run of created, in rank order) decide
        // on their own; the others as the project.
        auto own = created.begin();
        while (own != created.end() &&
               Rank(s_.nodes[*own].path[kProjectLevel]) < Rank(p)) {
          ++own;
        }
        for (uint32_t w : From(ix_.workloads_of_project[p], after, true)) {
          bool mine = false;
          if (top_ >= kCloudLevel && own != created.end() &&
              s_.nodes[*own].path[kProjectLevel] == p) {
            const uint32_t rank = Rank(w);
            while (own != created.end() &&
                   s_.nodes[*own].path[kProjectLevel] == p &&
                   Rank(*own) < rank) {
              ++own;
            }
            mine = own != created.end() && *own == w;
          }
          if (mine) {
            const Decision d = Decide(w);
            if (d.allowed() && !Emit(w, d)) return;
          } else if (!Emit(w, *dp)) {
            return;
          }
        }
      } else if (top_ >= kCloudLevel) {
        // Only its own workloads may still allow (OWN_WORKLOAD).
        for (uint32_t w : created) {
          if (s_.nodes[w].path[kProjectLevel] != p) continue;
          if (after != kNone && Rank(w) <= after) continue;
          const Decision d = Decide(w);
          if (d.allowed() && !Emit(w, d)) return;
        }
      }
      if (full()) return;
    }
  }

  const Snapshot& s_;
  const QueryIndex& ix_;
  const ResourcesQuery& q_;
  std::vector<ResourceMatch>* out_;
  std::vector<uint32_t>* nodes_;

  uint32_t org_ = kNone;
  int top_ = 0;
  NodeKind within_kind_ = NodeKind::kOrg;
  QueryIndex::Key start_{kNone, kNone, kNone};

  NodeList cloud_scopes_;               // by rank
  NodeList project_scopes_;             // tree order
  absl::Span<const uint32_t> created_;  // tree order
  NodeList projects_, created_projects_;

  Decision org_decision_;
  bool generic_cloud_done_ = false, has_generic_cloud_ = false;
  Decision generic_cloud_;
  bool generic_project_done_[kClasses] = {};
  bool has_generic_project_[kClasses] = {};
  Decision generic_project_[kClasses];
  uint32_t cloud_done_ = kNone;
  Decision cloud_decision_;
  const Decision* cloud_ptr_ = nullptr;
  uint32_t class_cloud_ = kNone;
  bool in_scopes_ = false;
  bool class_done_[kClasses] = {};
  Decision class_decision_[kClasses];
  const Decision* class_ptr_[kClasses] = {};
  Decision project_decision_;
};

}  // namespace

void FindResources(const QueryIndex& ix, const ResourcesQuery& q,
                   std::vector<ResourceMatch>* out,
                   std::vector<uint32_t>* nodes) {
  ResourceWalk(ix, q, out, nodes).Run();
}

}  // namespace internal
}  // namespace arbiter
