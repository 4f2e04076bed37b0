// DiffPolicies against brute force: on random pairs of states, the diff
// equals the comparison of Engine::Check over every (principal, permission,
// resource) triple of the two states (principals matched by id, resources
// by id and place, permissions by name), each triple read through the
// entry of its resource's anchor (docs/lookups.md "Policy diff"): every
// triple mapped to one entry changes alike, and the entries are exactly the
// triples that change. No-new-access mode answers the same question with
// the same first witnesses, each with the decision Check gives.
//
// Pairs, from one seed each (printed on a mismatch):
//   * grants:    a state and the same state with random grants removed and
//                added (allow and deny roles), both compiled in full;
//   * derived:   the same, the second snapshot derived by SnapshotBuilder
//                (one lineage, relocated grant spans, overlays);
//   * resources: project visibility and default flags, workload creators,
//                moved and deleted workloads, new projects, principal
//                states and group members changed, and grants;
//   * options:   the same state under other access-model §12 options (other
//                role masks: no principal may be skipped);
//   * unrelated: two states of different seeds, mostly with the second's
//                ids renamed to the first's (kind by kind), so that
//                principals and resources match by id though nothing else
//                does.
//   ARBITER_LOOKUP_DIFF_SEED=<seed> ./build/tests/lookup_diff_test replays one;
//   ARBITER_LOOKUP_DIFF_STATES sets the number of base states (default 12,
//   five pairs each).

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/lookup.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "src/compiler/snapshot_builder.h"
#include "src/compiler/state_delta.h"
#include "src/engine/engine_friend_access.h"
#include "tests/query/lookup_testing.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

using lookup_testing::IndexState;
using lookup_testing::ResourceInfo;
using lookup_testing::StateIndex;

constexpr uint64_t kBaseSeed = 0xD1FFu;
constexpr int kMaxFailures = 8;

struct Stats {
  int failures = 0;
  int64_t pairs = 0;
  int64_t triples = 0;  // Check pairs compared
  int64_t changes = 0;  // entries of the diffs
  int64_t gained = 0, lost = 0;
  int64_t unchanged_principals = 0;
};

struct PairRun {
  uint64_t seed;
  std::string kind;
  Stats* stats;

  void Fail(const std::string& what) {
    if (++stats->failures <= kMaxFailures) {
      ADD_FAILURE() << "MISMATCH seed " << seed << " (" << kind << "): " << what
                    << "\n  reproduce: ARBITER_LOOKUP_DIFF_SEED=" << seed
                    << " ./build/tests/lookup_diff_test";
    }
  }
};

std::unique_ptr<const Engine> Compile(const v1::PolicySet& state,
                                      const EngineOptions& options) {
  auto engine = Engine::Create(state, options);
  if (!engine.ok()) return nullptr;
  return std::move(*engine);
}

// ---- Making the second state of a pair ----

// Applies `mutate` to a copy of policy->state and keeps it if it still
// compiles.
template <typename Fn>
void Try(testing::RandomPolicy* policy, Fn&& mutate) {
  v1::PolicySet copy = policy->state;
  mutate(&copy);
  if (Engine::Create(copy, policy->options).ok()) policy->state = copy;
}

void ChangeGrants(testing::Rng& rng, testing::RandomPolicy* policy,
                  int removals, int additions) {
  v1::PolicySet& s = policy->state;
  for (int i = 0; i < removals && s.grants_size() > 0; ++i) {
    const int g = static_cast<int>(rng.Below(s.grants_size()));
    Try(policy,
        [&](v1::PolicySet* c) { c->mutable_grants()->DeleteSubrange(g, 1); });
  }
  // Expiries changed: renewed, cut short, or removed.
  for (int i = 0; i < removals && s.grants_size() > 0; ++i) {
    const int g = static_cast<int>(rng.Below(s.grants_size()));
    const bool clear = rng.Chance(0.3);
    const absl::Time t = rng.Pick(policy->query_times);
    Try(policy, [&](v1::PolicySet* c) {
      v1::Grant* grant = c->mutable_grants(g);
      if (clear) {
        grant->clear_expires_at();
      } else {
        grant->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(t));
        grant->mutable_expires_at()->set_nanos(
            static_cast<int32_t>(absl::ToInt64Nanoseconds(
                t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
      }
    });
  }
  for (int i = 0; i < additions; ++i) {
    testing::AddRandomGrant(rng,
                            rng.Chance(0.25) ? testing::GrantKind::kDeny
                                             : testing::GrantKind::kAllow,
                            policy);
  }
}

void ChangeResources(testing::Rng& rng, testing::RandomPolicy* policy) {
  const v1::PolicySet& s = policy->state;
  std::map<std::string, std::string> cloud_org;
  for (const auto& c : s.clouds()) cloud_org[c.id()] = c.org_id();
  for (int i = 0; i < s.projects_size(); ++i) {
    if (rng.Chance(0.35)) {
      Try(policy, [&](v1::PolicySet* c) {
        v1::Project* p = c->mutable_projects(i);
        p->set_visibility(p->visibility() == v1::VISIBILITY_PRIVATE
                              ? v1::VISIBILITY_PUBLIC
                              : v1::VISIBILITY_PRIVATE);
      });
    }
  }
  // Move a cloud's default flag to another of its projects.
  for (int i = 0; i < s.projects_size(); ++i) {
    if (!s.projects(i).is_default() || !rng.Chance(0.3)) continue;
    for (int j = 0; j < s.projects_size(); ++j) {
      if (j == i || s.projects(j).cloud_id() != s.projects(i).cloud_id()) {
        continue;
      }
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_projects(i)->set_is_default(false);
        c->mutable_projects(j)->set_is_default(true);
        c->mutable_projects(j)->set_visibility(v1::VISIBILITY_PUBLIC);
      });
      break;
    }
  }
  std::vector<std::string> principals;
  for (const auto& p : s.principals()) principals.push_back(p.id());
  for (int i = 0; i < s.workloads_size(); ++i) {
    const double r = static_cast<double>(rng.Below(1000)) / 1000;
    if (r < 0.3 && !principals.empty()) {
      const std::string creator = rng.Pick(principals);
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_workloads(i)->set_creator_id(creator);
      });
    } else if (r < 0.4) {
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_workloads(i)->clear_creator_id();
      });
    } else if (r < 0.5 && s.projects_size() > 0) {
      const std::string project = s.projects(rng.Below(s.projects_size())).id();
      Try(policy, [&](v1::PolicySet* c) {
        v1::Workload* w = c->mutable_workloads(i);
        w->clear_cloud_id();
        w->set_project_id(project);
      });
    }
  }
  for (int i = s.workloads_size() - 1; i >= 0; --i) {
    if (rng.Chance(0.08)) {
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_workloads()->DeleteSubrange(i, 1);
      });
    }
  }
  for (int i = 0; i < 2 && s.clouds_size() > 0; ++i) {
    const std::string cloud = s.clouds(rng.Below(s.clouds_size())).id();
    const bool pub = rng.Chance(0.5);
    const std::string id = absl::StrCat("prj_new", i);
    Try(policy, [&](v1::PolicySet* c) {
      v1::Project* p = c->add_projects();
      p->set_id(id);
      p->set_cloud_id(cloud);
      p->set_name(absl::StrCat("new-project-", i));
      p->set_visibility(pub ? v1::VISIBILITY_PUBLIC : v1::VISIBILITY_PRIVATE);
    });
  }
  static constexpr v1::PrincipalState kStates[] = {v1::PRINCIPAL_STATE_ACTIVE,
                                                   v1::PRINCIPAL_STATE_INVITED,
                                                   v1::PRINCIPAL_STATE_DELETED};
  for (int i = 0; i < s.principals_size(); ++i) {
    if (rng.Chance(0.15)) {
      const v1::PrincipalState state = kStates[rng.Below(3)];
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_principals(i)->set_state(state);
      });
    }
  }
  for (int i = 0; i < s.groups_size(); ++i) {
    if (s.groups(i).member_ids_size() > 0 && rng.Chance(0.3)) {
      const int m = static_cast<int>(rng.Below(s.groups(i).member_ids_size()));
      Try(policy, [&](v1::PolicySet* c) {
        c->mutable_groups(i)->mutable_member_ids()->DeleteSubrange(m, 1);
      });
    }
  }
}

// `other` with the ids of its objects replaced, kind by kind and in order,
// by those of `base` (as far as `base` has objects of the kind): two
// unrelated states whose ids coincide, so that the diff compares them.
void RenameLike(const v1::PolicySet& base, v1::PolicySet* other) {
  std::map<std::string, std::string> to;
  auto map_ids = [&](const auto& from, const auto& like) {
    for (int i = 0; i < from.size() && i < like.size(); ++i) {
      to[from[i].id()] = like[i].id();
    }
  };
  map_ids(other->organizations(), base.organizations());
  map_ids(other->clouds(), base.clouds());
  map_ids(other->projects(), base.projects());
  map_ids(other->workloads(), base.workloads());
  map_ids(other->compute_configs(), base.compute_configs());
  map_ids(other->images(), base.images());
  map_ids(other->principals(), base.principals());
  map_ids(other->groups(), base.groups());
  auto r = [&](std::string* id) {
    auto it = to.find(*id);
    if (it != to.end()) *id = it->second;
  };
  for (auto& o : *other->mutable_organizations()) r(o.mutable_id());
  for (auto& c : *other->mutable_clouds()) {
    r(c.mutable_id());
    r(c.mutable_org_id());
  }
  for (auto& p : *other->mutable_projects()) {
    r(p.mutable_id());
    r(p.mutable_cloud_id());
    r(p.mutable_creator_id());
  }
  for (auto& w : *other->mutable_workloads()) {
    r(w.mutable_id());
    r(w.mutable_project_id());
    r(w.mutable_cloud_id());
    r(w.mutable_creator_id());
  }
  for (auto& c : *other->mutable_compute_configs()) {
    r(c.mutable_id());
    r(c.mutable_cloud_id());
  }
  for (auto& i : *other->mutable_images()) {
    r(i.mutable_id());
    r(i.mutable_org_id());
  }
  for (auto& p : *other->mutable_principals()) {
    r(p.mutable_id());
    r(p.mutable_org_id());
  }
  for (auto& g : *other->mutable_groups()) {
    r(g.mutable_id());
    r(g.mutable_org_id());
    for (auto& m : *g.mutable_member_ids()) r(&m);
  }
  for (auto& g : *other->mutable_grants()) {
    if (g.subject_case() == v1::Grant::kPrincipalId) {
      r(g.mutable_principal_id());
    } else if (g.subject_case() == v1::Grant::kGroupId) {
      r(g.mutable_group_id());
    }
    switch (g.scope_case()) {
      case v1::Grant::kOrgId:
        r(g.mutable_org_id());
        break;
      case v1::Grant::kCloudId:
        r(g.mutable_cloud_id());
        break;
      case v1::Grant::kProjectId:
        r(g.mutable_project_id());
        break;
      default:
        break;
    }
  }
}

// ---- Brute force ----

struct ResourceOf {
  const ResourceInfo* before = nullptr;
  const ResourceInfo* after = nullptr;
};

bool SamePlace(const ResourceInfo& a, const ResourceInfo& b) {
  return a.kind == b.kind && a.org == b.org && a.cloud == b.cloud &&
         a.project == b.project;
}

int PermissionLevel(const v1::Profile& profile, const std::string& name) {
  for (const auto& p : profile.permissions()) {
    if (p.name() != name) continue;
    switch (p.scope()) {
      case v1::SCOPE_TYPE_ORG:
        return 0;
      case v1::SCOPE_TYPE_CLOUD:
        return 1;
      default:
        return 2;
    }
  }
  return -1;
}

int Depth(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kOrg:
    case ResourceKind::kImage:
      return 0;
    case ResourceKind::kCloud:
    case ResourceKind::kComputeConfig:
      return 1;
    default:
      return 2;
  }
}

enum Status { kSame = 0, kGained = 1, kLost = 2 };

// (principal id, entry resource id, permission)
using Key = std::tuple<std::string, std::string, std::string>;

void ComparePair(const v1::PolicySet& sb, const Engine& eb,
                 const v1::PolicySet& sa, const Engine& ea, testing::Rng& rng,
                 const std::vector<absl::Time>& times, PairRun* run) {
  ++run->stats->pairs;
  const StateIndex ib = IndexState(sb, eb.profile());
  const StateIndex ia = IndexState(sa, ea.profile());
  const auto lb = Lookup::Create(eb);
  const auto la = Lookup::Create(ea);
  DiffOptions options;
  if (rng.Chance(0.5)) options.now = rng.Pick(times);
  if (rng.Chance(0.2)) options.channel = Channel::kConsole;
  options.max_witnesses = rng.Below(6);

  // Permissions by name, with their level (the diff refuses a name of two
  // levels).
  std::map<std::string, int> levels;
  bool conflict = false;
  for (const std::string& k : ib.permissions) {
    levels[k] = PermissionLevel(eb.profile(), k);
  }
  for (const std::string& k : ia.permissions) {
    const int l = PermissionLevel(ea.profile(), k);
    auto [it, added] = levels.emplace(k, l);
    if (!added && it->second != l) conflict = true;
  }
  absl::StatusOr<v1::PolicyDiff> diff = DiffPolicies(*lb, *la, options);
  if (conflict) {
    if (diff.ok() ||
        diff.status().code() != absl::StatusCode::kFailedPrecondition) {
      run->Fail(absl::StrCat(
          "a permission of two levels: want FailedPrecondition, got ",
          diff.status().ToString()));
    }
    return;
  }
  if (!diff.ok()) {
    run->Fail(absl::StrCat("DiffPolicies: ", diff.status().ToString()));
    return;
  }
  const absl::Time at = absl::FromUnixSeconds(diff->at().seconds()) +
                        absl::Nanoseconds(diff->at().nanos());
  if (options.now.has_value() && at != *options.now) {
    run->Fail("the diff's instant is not options.now");
  }
  RequestContext context;
  context.channel = options.channel;
  context.now = at;

  // Resources of both states, same place.
  std::map<std::string, ResourceOf> resources;
  for (const ResourceInfo& r : ib.resources) resources[r.id].before = &r;
  for (const ResourceInfo& r : ia.resources) resources[r.id].after = &r;
  uint64_t added = 0, removed = 0;
  std::vector<const ResourceInfo*> shared;  // after's
  for (const auto& [id, r] : resources) {
    if (r.before && r.after && SamePlace(*r.before, *r.after)) {
      shared.push_back(r.after);
    } else {
      added += r.after != nullptr;
      removed += r.before != nullptr;
    }
  }
  std::set<std::string> principals;
  std::set<std::string> pb, pa;
  for (const auto& p : ib.principals) pb.insert(p.id), principals.insert(p.id);
  for (const auto& p : ia.principals) pa.insert(p.id), principals.insert(p.id);

  // Brute force: every triple, mapped to its entry.
  std::map<Key, Status> want;
  std::map<Key, std::string> first_triple;  // for messages
  auto check = [&](const Engine& e, const std::string& p, const std::string& k,
                   const std::string& r) {
    AccessRequest q;
    q.principal = p;
    q.permission = k;
    q.resource = r;
    q.context = context;
    return e.Check(q).allowed();
  };
  for (const std::string& p : principals) {
    for (const ResourceInfo* r : shared) {
      const ResourceInfo& rb = *resources[r->id].before;
      for (const auto& [k, level] : levels) {
        const bool before = check(eb, p, k, r->id);
        const bool after = check(ea, p, k, r->id);
        ++run->stats->triples;
        if (level > Depth(r->kind)) {
          if (before || after) {
            run->Fail(
                absl::StrCat(k, " allowed on ", r->id, " above its level"));
          }
          continue;
        }
        std::string entry;
        if (r->kind == ResourceKind::kWorkload && level == 2 &&
            (r->creator == p || rb.creator == p)) {
          entry = r->id;
        } else {
          entry = level == 0 ? r->org : level == 1 ? r->cloud : r->project;
        }
        const Status st = before == after ? kSame : after ? kGained : kLost;
        const Key key{p, entry, k};
        auto [it, fresh] = want.emplace(key, st);
        if (fresh) {
          first_triple[key] = r->id;
        } else if (it->second != st) {
          run->Fail(absl::StrCat("brute force: ", p, " ", k, " on ", r->id,
                                 " changes (", st, ") unlike on ",
                                 first_triple[key], " (", it->second,
                                 "), both read through ", entry));
          return;
        }
      }
    }
  }

  // The diff's entries.
  std::map<Key, Status> got;
  std::vector<Key> gained_order;  // the documented order of new access
  std::string last_principal;
  std::tuple<std::string, std::string, std::string, std::string> last_place;
  std::map<std::string, const ResourceInfo*> after_by_id;
  for (const ResourceInfo* r : shared) after_by_id[r->id] = r;
  std::set<std::string> changed_principals;
  uint64_t gained = 0, lost = 0;
  for (int i = 0; i < diff->changes_size(); ++i) {
    const v1::AccessChange& c = diff->changes(i);
    auto rit = after_by_id.find(c.resource_id());
    if (rit == after_by_id.end()) {
      run->Fail(absl::StrCat("changes[", i, "]: resource ", c.resource_id(),
                             " is not in both states at one place"));
      return;
    }
    const ResourceInfo& r = *rit->second;
    if (c.resource_kind() != ResourceKindName(r.kind)) {
      run->Fail(absl::StrCat("changes[", i, "]: kind ", c.resource_kind()));
    }
    const auto place = std::make_tuple(
        r.org, r.kind == ResourceKind::kOrg ? "" : r.cloud,
        r.kind == ResourceKind::kProject || r.kind == ResourceKind::kWorkload
            ? r.project
            : "",
        r.kind == ResourceKind::kWorkload ? r.id : "");
    if (i > 0 && !(std::tie(last_principal, last_place) <
                   std::tie(c.principal_id(), place))) {
      run->Fail(absl::StrCat("changes[", i, "] is out of order"));
    }
    last_principal = c.principal_id();
    last_place = place;
    changed_principals.insert(c.principal_id());
    if (c.gained_size() + c.lost_size() == 0) {
      run->Fail(absl::StrCat("changes[", i, "] is empty"));
    }
    for (const std::string& k : c.gained()) {
      got[{c.principal_id(), c.resource_id(), k}] = kGained;
      gained_order.push_back({c.principal_id(), k, c.resource_id()});
      ++gained;
    }
    for (const std::string& k : c.lost()) {
      if (!got.emplace(Key{c.principal_id(), c.resource_id(), k}, kLost)
               .second) {
        run->Fail(absl::StrCat("changes[", i, "]: ", k, " gained and lost"));
      }
      ++lost;
    }
  }
  for (const auto& [key, st] : want) {
    if (st == kSame) continue;
    auto it = got.find(key);
    if (it == got.end() || it->second != st) {
      AccessRequest q;
      q.principal = std::get<0>(key);
      q.permission = std::get<2>(key);
      q.resource = first_triple[key];
      q.context = context;
      std::string theirs;
      for (const auto& c : diff->changes()) {
        if (c.principal_id() == std::get<0>(key)) {
          absl::StrAppend(&theirs, "\n    ", c.ShortDebugString());
        }
      }
      run->Fail(absl::StrCat(
          "Check: ", std::get<0>(key), " ", st == kGained ? "gains " : "loses ",
          std::get<2>(key), " on ", std::get<1>(key), " (e.g. on ",
          first_triple[key], ": before ", ReasonName(eb.Check(q).reason),
          ", after ", ReasonName(ea.Check(q).reason), "); the diff says ",
          it == got.end() ? "nothing" : "the opposite",
          "; its changes for the principal:", theirs,
          "\n  unchanged principals ", diff->principals_unchanged()));
      return;
    }
  }
  for (const auto& [key, st] : got) {
    auto it = want.find(key);
    if (it == want.end() || it->second != st) {
      run->Fail(absl::StrCat("the diff: ", std::get<0>(key),
                             st == kGained ? " gains " : " loses ",
                             std::get<2>(key), " on ", std::get<1>(key),
                             "; Check says no change"));
      return;
    }
  }
  const v1::PolicyDiff::Summary& sum = diff->summary();
  if (sum.changes() != static_cast<uint64_t>(diff->changes_size()) ||
      sum.principals() != changed_principals.size() || sum.gained() != gained ||
      sum.lost() != lost || sum.resources_added() != added ||
      sum.resources_removed() != removed) {
    run->Fail(absl::StrCat("summary ", sum.ShortDebugString(), " vs changes ",
                           diff->changes_size(), " principals ",
                           changed_principals.size(), " gained ", gained,
                           " lost ", lost, " added ", added, " removed ",
                           removed));
  }
  uint64_t only_b = 0, only_a = 0;
  for (const std::string& p : principals) {
    only_b += pb.count(p) && !pa.count(p);
    only_a += pa.count(p) && !pb.count(p);
  }
  if (sum.principals_added() != only_a || sum.principals_removed() != only_b) {
    run->Fail("summary: principals added or removed");
  }
  // Organizations, clouds and projects of `after` only: any access there
  // is new (`before` gave none), one witness per scope, in tree order: the
  // first principal by id allowed something of the scope's level there.
  struct AddedWitness {
    std::string principal, resource;
    int level;
  };
  std::vector<const ResourceInfo*> added_scopes;
  for (const auto& [id, r] : resources) {
    if (r.after == nullptr || (r.before && SamePlace(*r.before, *r.after))) {
      continue;
    }
    const ResourceKind kind = r.after->kind;
    if (kind == ResourceKind::kOrg || kind == ResourceKind::kCloud ||
        kind == ResourceKind::kProject || kind == ResourceKind::kWorkload) {
      added_scopes.push_back(r.after);
    }
  }
  auto tree_place = [](const ResourceInfo* r) {
    const bool in_project =
        r->kind == ResourceKind::kProject || r->kind == ResourceKind::kWorkload;
    return std::make_tuple(r->org,
                           r->kind == ResourceKind::kOrg ? "" : r->cloud,
                           in_project ? r->project : "",
                           r->kind == ResourceKind::kWorkload ? r->id : "");
  };
  std::sort(added_scopes.begin(), added_scopes.end(),
            [&](const ResourceInfo* x, const ResourceInfo* y) {
              return tree_place(x) < tree_place(y);
            });
  std::vector<AddedWitness> added_witnesses;
  for (const ResourceInfo* r : added_scopes) {
    const int level = Depth(r->kind);
    if (r->kind == ResourceKind::kWorkload) {
      // Only its creator's own-workload permissions are its own.
      for (const auto& [k, l] : levels) {
        if (!r->creator.empty() && l == 2 && check(ea, r->creator, k, r->id) &&
            !check(ea, r->creator, k, r->project)) {
          added_witnesses.push_back({r->creator, r->id, 2});
          break;
        }
      }
      continue;
    }
    for (const std::string& p : principals) {
      bool any = false;
      for (const auto& [k, l] : levels) {
        if (l == level && check(ea, p, k, r->id)) {
          any = true;
          break;
        }
      }
      if (any) {
        added_witnesses.push_back({p, r->id, level});
        break;
      }
    }
  }
  const bool new_access = gained > 0 || !added_witnesses.empty();
  if (diff->new_access() != new_access) run->Fail("new_access");
  run->stats->changes += diff->changes_size();
  run->stats->gained += gained;
  run->stats->lost += lost;
  run->stats->unchanged_principals += diff->principals_unchanged();

  // Witnesses: the first new access in the documented order, as Check
  // decides it.
  auto check_witnesses = [&](const v1::PolicyDiff& d, const char* mode) {
    const size_t n = std::min(gained_order.size() + added_witnesses.size(),
                              options.max_witnesses);
    if (static_cast<size_t>(d.witnesses_size()) != n) {
      run->Fail(
          absl::StrCat(mode, ": ", d.witnesses_size(), " witnesses, want ", n));
      return;
    }
    for (size_t i = 0; i < n; ++i) {
      const v1::AccessWitness& w = d.witnesses(static_cast<int>(i));
      const bool ok =
          i < gained_order.size()
              ? std::make_tuple(w.principal_id(), w.permission(),
                                w.resource_id()) == gained_order[i]
              : w.principal_id() ==
                        added_witnesses[i - gained_order.size()].principal &&
                    w.resource_id() ==
                        added_witnesses[i - gained_order.size()].resource &&
                    levels[w.permission()] ==
                        added_witnesses[i - gained_order.size()].level;
      if (!ok) {
        std::string want_text;
        if (i < gained_order.size()) {
          want_text = absl::StrCat(std::get<0>(gained_order[i]), " ",
                                   std::get<1>(gained_order[i]), " on ",
                                   std::get<2>(gained_order[i]));
        } else {
          const AddedWitness& x = added_witnesses[i - gained_order.size()];
          want_text = absl::StrCat(x.principal, " on the new ", x.resource,
                                   " (level ", x.level, ")");
        }
        run->Fail(absl::StrCat(mode, ": witness ", i, " ",
                               w.ShortDebugString(), ", want ", want_text));
        return;
      }
      AccessRequest q;
      q.principal = w.principal_id();
      q.permission = w.permission();
      q.resource = w.resource_id();
      q.context = context;
      const Decision dec = ea.Check(q);
      if (!dec.allowed() || ReasonName(dec.reason) != w.reason() ||
          dec.grant_id != w.grant_id()) {
        run->Fail(absl::StrCat(mode, ": witness ", w.ShortDebugString(),
                               " but Check says ", ReasonName(dec.reason), " ",
                               dec.grant_id));
        return;
      }
    }
  };
  check_witnesses(*diff, "full diff");
  DiffOptions gate = options;
  gate.only_new_access = true;
  absl::StatusOr<v1::PolicyDiff> g = DiffPolicies(*lb, *la, gate);
  if (!g.ok()) {
    run->Fail(absl::StrCat("no-new-access: ", g.status().ToString()));
    return;
  }
  if (g->new_access() != new_access || g->changes_size() != 0) {
    run->Fail(absl::StrCat("no-new-access: new_access ", g->new_access(),
                           " changes ", g->changes_size()));
  }
  check_witnesses(*g, "no-new-access");
}

// A related state: grants changed (full compile or derived snapshot).
void RunSeed(uint64_t seed, Stats* stats) {
  testing::RandomPolicy base = testing::GenerateRandomPolicy(seed);
  base.state.set_revision(1);
  auto eb = Compile(base.state, base.options);
  ASSERT_NE(eb, nullptr) << "seed " << seed;
  testing::Rng rng(testing::MixSeed(seed, 11));

  {  // grants, full compiles
    PairRun run{seed, "grants", stats};
    testing::RandomPolicy next = base;
    ChangeGrants(rng, &next, rng.Between(0, 4), rng.Between(1, 5));
    next.state.set_revision(2);
    auto ea = Compile(next.state, next.options);
    ASSERT_NE(ea, nullptr);
    ComparePair(base.state, *eb, next.state, *ea, rng, base.query_times, &run);
  }
  {  // grants, derived snapshot
    PairRun run{seed, "derived", stats};
    testing::RandomPolicy next = base;
    const int before = next.state.grants_size();
    internal::StateDelta delta;
    delta.set_revisions(1, 2);
    for (int i = 0; i < 3 && next.state.grants_size() > 0; ++i) {
      const int g = static_cast<int>(rng.Below(next.state.grants_size()));
      if (g >= before) continue;
      delta.RemoveGrant(next.state.grants(g));
      next.state.mutable_grants()->DeleteSubrange(g, 1);
      break;  // one removal keeps the indices simple
    }
    const int kept = next.state.grants_size();
    for (int i = 0; i < 3; ++i) {
      testing::AddRandomGrant(rng,
                              rng.Chance(0.25) ? testing::GrantKind::kDeny
                                               : testing::GrantKind::kAllow,
                              &next);
    }
    for (int i = kept; i < next.state.grants_size(); ++i) {
      delta.AddGrant(next.state.grants(i));
    }
    next.state.set_revision(2);
    auto snapshot =
        internal::SnapshotBuilder::Apply(EngineFriendAccess::State(*eb), delta);
    if (snapshot.ok() && Engine::Create(next.state, next.options).ok()) {
      auto ea = EngineFriendAccess::Make(*snapshot, 2);
      ComparePair(base.state, *eb, next.state, *ea, rng, base.query_times,
                  &run);
    }
  }
  {  // resources and grants
    PairRun run{seed, "resources", stats};
    testing::RandomPolicy next = base;
    ChangeResources(rng, &next);
    ChangeGrants(rng, &next, rng.Between(0, 6), rng.Between(0, 6));
    auto ea = Compile(next.state, next.options);
    ASSERT_NE(ea, nullptr);
    if (rng.Chance(0.5)) {
      ComparePair(base.state, *eb, next.state, *ea, rng, base.query_times,
                  &run);
    } else {  // and the other way round
      ComparePair(next.state, *ea, base.state, *eb, rng, base.query_times,
                  &run);
    }
  }
  {  // options: other role masks
    PairRun run{seed, "options", stats};
    EngineOptions options = base.options;
    options.cloud_owner_private_project_access =
        !options.cloud_owner_private_project_access;
    if (rng.Chance(0.5)) {
      options.cloud_owner_deletes_cloud = !options.cloud_owner_deletes_cloud;
    }
    auto ea = Compile(base.state, options);
    if (ea != nullptr) {
      ComparePair(base.state, *eb, base.state, *ea, rng, base.query_times,
                  &run);
    }
  }
  {  // unrelated: another seed, its ids renamed to coincide with ours
    PairRun run{seed, "unrelated", stats};
    testing::RandomPolicy other =
        testing::GenerateRandomPolicy(testing::MixSeed(seed, 99));
    if (rng.Chance(0.8)) RenameLike(base.state, &other.state);
    auto ea = Compile(other.state, other.options);
    if (ea != nullptr) {
      ComparePair(base.state, *eb, other.state, *ea, rng, base.query_times,
                  &run);
    }
  }
}

TEST(LookupDiffTest, DiffEqualsCheckOverEveryTriple) {
  Stats stats;
  uint64_t replay = 0;
  const bool one =
      lookup_testing::EnvUint64("ARBITER_LOOKUP_DIFF_SEED", &replay);
  if (one) {
    RunSeed(replay, &stats);
  } else {
    const int states = lookup_testing::EnvInt("ARBITER_LOOKUP_DIFF_STATES", 12);
    for (int i = 0; i < states && stats.failures == 0; ++i) {
      RunSeed(testing::MixSeed(kBaseSeed, i), &stats);
    }
  }
  std::printf(
      "diff: %lld pairs, %lld (principal, permission, resource) triples "
      "checked in both states; %lld changes (%lld gained, %lld lost); %lld "
      "principals skipped as unchanged\n",
      static_cast<long long>(stats.pairs),
      static_cast<long long>(stats.triples),
      static_cast<long long>(stats.changes),
      static_cast<long long>(stats.gained), static_cast<long long>(stats.lost),
      static_cast<long long>(stats.unchanged_principals));
  EXPECT_EQ(stats.failures, 0);
  if (!one) {
    EXPECT_GT(stats.gained, 0)
        << "no pair gained access: the test proves little";
    EXPECT_GT(stats.lost, 0) << "no pair lost access";
    EXPECT_GT(stats.unchanged_principals, 0) << "the fast path never ran";
  }
}

// Hand-made cases whose answer is known.
TEST(LookupDiffTest, NamedCases) {
  v1::PolicySet state;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        revision: 1
        organizations { id: "org_a" name: "acme" }
        clouds { id: "cld_a" org_id: "org_a" name: "prod" }
        projects {
          id: "prj_d"
          cloud_id: "cld_a"
          name: "default"
          is_default: true
          visibility: VISIBILITY_PUBLIC
        }
        projects {
          id: "prj_x"
          cloud_id: "cld_a"
          name: "x"
          visibility: VISIBILITY_PRIVATE
        }
        workloads {
          id: "wl_1"
          project_id: "prj_x"
          name: "w1"
          type: WORKLOAD_TYPE_JOB
          creator_id: "usr_bo"
        }
        principals {
          id: "usr_al"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "al@acme.com"
        }
        principals {
          id: "usr_bo"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "bo@acme.com"
        }
        grants {
          id: "g1"
          principal_id: "usr_al"
          role: "cloud_collaborator"
          cloud_id: "cld_a"
        }
        grants {
          id: "g2"
          principal_id: "usr_bo"
          role: "cloud_collaborator"
          cloud_id: "cld_a"
        }
      )pb",
      &state));
  EngineOptions options;
  options.clock =
      std::make_shared<testing::FakeClock>(absl::FromUnixSeconds(1767225600));
  auto before = Engine::Create(state, options);
  ASSERT_TRUE(before.ok()) << before.status();
  v1::PolicySet next = state;
  next.set_revision(2);
  auto* g = next.add_grants();
  g->set_id("g3");
  g->set_principal_id("usr_al");
  g->set_role("project_owner");
  g->set_project_id("prj_x");
  auto after = Engine::Create(next, options);
  ASSERT_TRUE(after.ok()) << after.status();
  auto lb = Lookup::Create(**before);
  auto la = Lookup::Create(**after);

  absl::StatusOr<v1::PolicyDiff> d = DiffPolicies(*lb, *la);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->changes_size(), 1) << d->DebugString();
  const v1::AccessChange& c = d->changes(0);
  EXPECT_EQ(c.principal_id(), "usr_al");
  EXPECT_EQ(c.resource_id(), "prj_x");
  EXPECT_EQ(c.resource_kind(), "project");
  EXPECT_TRUE(std::find(c.gained().begin(), c.gained().end(),
                        "project.delete") != c.gained().end());
  EXPECT_EQ(c.lost_size(), 0);
  EXPECT_TRUE(d->new_access());
  EXPECT_EQ(d->before_revision(), 1u);
  EXPECT_EQ(d->after_revision(), 2u);
  EXPECT_EQ(d->summary().principals(), 1u);
  EXPECT_EQ(d->principals_unchanged(), 1u);  // usr_bo
  EXPECT_EQ(d->principals_compared(), 1u);   // usr_al
  ASSERT_GE(d->witnesses_size(), 1);
  EXPECT_EQ(d->witnesses(0).grant_id(), "g3");
  EXPECT_EQ(d->witnesses(0).reason(), "GRANT");

  // The reverse: lost, no new access.
  d = DiffPolicies(*la, *lb);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->changes_size(), 1);
  EXPECT_EQ(d->changes(0).gained_size(), 0);
  EXPECT_FALSE(d->new_access());
  DiffOptions gate;
  gate.only_new_access = true;
  d = DiffPolicies(*la, *lb, gate);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->new_access());
  EXPECT_EQ(d->witnesses_size(), 0);

  // Itself: nothing, every principal skipped.
  d = DiffPolicies(*la, *la);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->changes_size(), 0);
  EXPECT_EQ(d->principals_unchanged(), 2u);
  EXPECT_EQ(d->principals_compared(), 0u);

  // Making prj_x public: a flag change reaches usr_bo, whose grants are the
  // same (the fast path), and its own workload.
  v1::PolicySet pub = state;
  pub.mutable_projects(1)->set_visibility(v1::VISIBILITY_PUBLIC);
  auto epub = Engine::Create(pub, options);
  ASSERT_TRUE(epub.ok());
  auto lpub = Lookup::Create(**epub);
  d = DiffPolicies(*lb, *lpub);
  ASSERT_TRUE(d.ok());
  std::set<std::pair<std::string, std::string>> where;
  for (const auto& ch : d->changes()) {
    where.insert({ch.principal_id(), ch.resource_id()});
  }
  EXPECT_TRUE(where.count({"usr_al", "prj_x"})) << d->DebugString();
  EXPECT_TRUE(where.count({"usr_bo", "prj_x"})) << d->DebugString();
  EXPECT_EQ(d->principals_unchanged(), 2u);
}

}  // namespace
}  // namespace arbiter
