// Incremental equals full: random sequences of admin transactions (valid and
// invalid mixed) on random multi-organization states, applied through a
// PolicyStore; after each, the store's engine (published incrementally by
// SnapshotBuilder, or compiled) must decide random queries exactly as a
// full compile of the store's state, and a refused transaction must leave
// the state byte for byte as it was. A mismatch prints the seed.
//
// ARBITER_ADMIN_STATES (default 100) states x ARBITER_ADMIN_TXNS (default
// 40) transactions x ARBITER_ADMIN_QUERIES (default 700) queries: at least
// 1,000,000 checks per default run.

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/policy_store.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

std::string Differs(const Decision& a, const Decision& b) {
  if (a.effect != b.effect || a.reason != b.reason || a.source != b.source ||
      a.grant_id != b.grant_id || a.valid_until != b.valid_until ||
      a.revision != b.revision) {
    std::ostringstream os;
    os << a << " vs " << b;
    return os.str();
  }
  return "";
}

// Random transactions against the current state of a store.
class TxnGenerator {
 public:
  TxnGenerator(uint64_t seed, const v1::Profile& profile)
      : rng_(seed), profile_(profile) {}

  v1::Transaction Next(const v1::PolicySet& state, const Engine& engine) {
    v1::Transaction txn;
    if (state.organizations_size() == 0) return txn;
    const v1::Organization& org = Pick(state.organizations());
    txn.set_org_id(org.id());
    std::vector<const v1::Principal*> members;
    for (const v1::Principal& p : state.principals()) {
      if (p.org_id() == org.id()) members.push_back(&p);
    }
    std::vector<const v1::Cloud*> clouds;
    for (const v1::Cloud& c : state.clouds()) {
      if (c.org_id() == org.id()) clouds.push_back(&c);
    }
    std::vector<const v1::Project*> projects;
    for (const v1::Project& p : state.projects()) {
      for (const v1::Cloud* c : clouds) {
        if (p.cloud_id() == c->id()) projects.push_back(&p);
      }
    }
    std::vector<const v1::Group*> groups;
    for (const v1::Group& g : state.groups()) {
      if (g.org_id() == org.id()) groups.push_back(&g);
    }
    if (members.empty() || clouds.empty()) return txn;
    // Usually an owner (so that most transactions pass the guard): an
    // active principal the engine says owns the organization.
    std::vector<const v1::Principal*> owners;
    for (const v1::Principal* p : members) {
      AccessRequest r;
      r.principal = p->id();
      r.permission = "org.roles.manage";
      r.resource = org.id();
      if (engine.Check(r).reason == Reason::kOrgOwner) owners.push_back(p);
    }
    const v1::Principal* actor = !owners.empty() && rng_.Chance(0.85)
                                     ? rng_.Pick(owners)
                                     : rng_.Pick(members);
    txn.set_actor(actor->id());
    const int n = rng_.Between(1, 3);
    for (int i = 0, tries = 0; i < n && tries < 50; ++tries) {
      v1::Mutation scratch;
      v1::Mutation* m = &scratch;
      const v1::Principal* who = rng_.Pick(members);
      const v1::Cloud* cloud = rng_.Pick(clouds);
      const v1::Project* project =
          projects.empty() ? nullptr : rng_.Pick(projects);
      switch (rng_.Below(15)) {
        case 0:
        case 1: {
          auto* x = m->mutable_set_cloud_member();
          x->set_cloud(cloud->id());
          x->set_principal(who->id());
          static const char* kRoles[] = {"cloud_owner", "cloud_collaborator",
                                         "cloud_readonly", "cloud_writer",
                                         "project_write"};
          x->set_role(kRoles[rng_.Below(5)]);
          x->set_read_only(rng_.Chance(0.2));
          break;
        }
        case 2: {
          auto* x = m->mutable_remove_cloud_member();
          x->set_cloud(cloud->name());
          x->set_principal(who->email());
          break;
        }
        case 3:
        case 4: {
          if (project == nullptr) break;
          auto* x = m->mutable_set_project_member();
          x->set_project(project->id());
          x->set_principal(who->id());
          static const char* kRoles[] = {"project_owner", "project_write",
                                         "project_readonly", "cloud_owner"};
          x->set_role(kRoles[rng_.Below(4)]);
          break;
        }
        case 5: {
          if (project == nullptr) break;
          auto* x = m->mutable_remove_project_member();
          x->set_project(project->id());
          x->set_principal(who->id());
          break;
        }
        case 6: {
          auto* x = m->mutable_set_org_role();
          x->set_principal(who->id());
          x->set_role(rng_.Chance(0.5) ? "org_owner" : "org_collaborator");
          break;
        }
        case 7: {
          auto* x = m->mutable_set_auto_add();
          x->set_cloud(cloud->id());
          x->set_enabled(rng_.Chance(0.5));
          break;
        }
        case 8: {
          auto* x = m->mutable_set_group_policy();
          const bool on_project = project != nullptr && rng_.Chance(0.5);
          x->set_resource(on_project ? project->id() : cloud->id());
          if (!groups.empty()) {
            auto* b = x->add_bindings();
            b->set_group(rng_.Pick(groups)->id());
            b->set_role(on_project ? (rng_.Chance(0.5) ? "project_write"
                                                       : "project_readonly")
                                   : "cloud_collaborator");
          }
          break;
        }
        case 9: {
          auto* x = m->mutable_invite_users();
          x->add_emails(absl::StrCat("new", rng_.Below(50), "@x.io"));
          break;
        }
        case 10: {
          // The invitee accepts (the actor becomes the invitee).
          std::vector<const v1::Principal*> invited;
          for (const v1::Principal* p : members) {
            if (p->state() == v1::PRINCIPAL_STATE_INVITED) invited.push_back(p);
          }
          if (invited.empty() || n != 1) break;
          const v1::Principal* p = rng_.Pick(invited);
          txn.set_actor(p->id());
          m->mutable_accept_invitation()->set_principal(p->id());
          break;
        }
        case 11:
          m->mutable_remove_user()->set_principal(who->id());
          break;
        case 12: {
          auto* x = m->mutable_create_project();
          x->set_cloud(cloud->id());
          x->set_name(absl::StrCat("p", rng_.Below(100)));
          x->set_public_(rng_.Chance(0.5));
          break;
        }
        case 13: {
          if (project == nullptr) break;
          auto* x = m->mutable_set_project_visibility();
          x->set_project(project->id());
          x->set_visibility(rng_.Chance(0.5) ? v1::VISIBILITY_PUBLIC
                                             : v1::VISIBILITY_PRIVATE);
          break;
        }
        default: {
          if (groups.empty()) break;
          const v1::Group* g = rng_.Pick(groups);
          auto* x = m->mutable_sync_group();
          x->set_group_id(g->id());
          x->set_name(g->name());
          for (const v1::Principal* p : members) {
            if (rng_.Chance(0.3)) x->add_member_ids(p->id());
          }
          break;
        }
      }
      if (m->op_case() != v1::Mutation::OP_NOT_SET) {
        *txn.add_mutations() = *m;
        ++i;
      }
    }
    if (rng_.Chance(0.05)) txn.set_expected_revision(state.revision() + 7);
    return txn;
  }

 private:
  template <typename T>
  const T& Pick(const google::protobuf::RepeatedPtrField<T>& v) {
    return v.Get(static_cast<int>(rng_.Below(v.size())));
  }
  testing::Rng rng_;
  const v1::Profile& profile_;
};

TEST(IncrementalVsFullTest, StoreEnginesDecideAsAFullCompile) {
  const int states = EnvInt("ARBITER_ADMIN_STATES", 100);
  const int txns = EnvInt("ARBITER_ADMIN_TXNS", 40);
  const int queries = EnvInt("ARBITER_ADMIN_QUERIES", 700);
  const uint64_t base_seed = 20261208;
  size_t checks = 0, applied = 0, refused = 0, incremental = 0;
  std::map<std::string, int> by_refusal;
  int failures = 0;
  for (int n = 0; n < states && failures < 3; ++n) {
    const uint64_t seed = testing::MixSeed(base_seed, n);
    testing::RandomPolicyConfig config;
    config.randomize_options = true;
    testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed, config);
    policy.state.set_revision(1);
    // An active owner in every organization, so that most transactions pass
    // their guard and reach the invariants.
    for (const v1::Organization& o : policy.state.organizations()) {
      v1::Principal* admin = policy.state.add_principals();
      admin->set_id(absl::StrCat("admin_", o.id()));
      admin->set_org_id(o.id());
      admin->set_kind(v1::PRINCIPAL_KIND_USER);
      admin->set_email(absl::StrCat("admin@", o.id(), ".example"));
      admin->set_state(v1::PRINCIPAL_STATE_ACTIVE);
      v1::Grant* g = policy.state.add_grants();
      g->set_id(absl::StrCat("g_admin_", o.id()));
      g->set_principal_id(admin->id());
      g->set_role("org_owner");
      g->set_org_id(o.id());
    }
    PolicyStoreOptions options;
    options.engine = policy.options;
    options.clock = policy.options.clock;
    auto store = PolicyStore::Create(policy.state, options);
    ASSERT_TRUE(store.ok()) << "seed " << seed << ": " << store.status();
    TxnGenerator gen(seed, (*store)->engine()->profile());
    for (int t = 0; t < txns && failures < 3; ++t) {
      const v1::PolicySet before = (*store)->StateCopy();
      const v1::Transaction txn = gen.Next(before, *(*store)->engine());
      if (txn.mutations_size() == 0) continue;
      absl::StatusOr<AppliedTransaction> result = (*store)->Apply(txn);
      const v1::PolicySet after = (*store)->StateCopy();
      if (!result.ok()) {
        ++refused;
        if (++by_refusal[std::string(RefusalName(RefusalOf(result.status())))] <
                3 &&
            std::getenv("ARBITER_ADMIN_VERBOSE") != nullptr) {
          std::printf("%s\n", result.status().ToString().c_str());
        }
        if (after.SerializeAsString() != before.SerializeAsString()) {
          ++failures;
          ADD_FAILURE() << "seed " << seed << " txn " << t
                        << ": a refused transaction changed the state: "
                        << result.status() << "\n" << txn.DebugString();
        }
        continue;
      }
      ++applied;
      incremental += result->incremental;
      auto full = Engine::Create(after, policy.options);
      ASSERT_TRUE(full.ok()) << "seed " << seed << " txn " << t << ": "
                             << full.status() << "\n" << txn.DebugString();
      const std::shared_ptr<const Engine> engine = (*store)->engine();
      testing::RandomPolicy current = policy;
      current.state = after;
      testing::RandomQueryGenerator gen_queries(current, (*full)->profile(),
                                                testing::MixSeed(seed, t));
      for (int q = 0; q < queries; ++q) {
        const testing::RandomQuery query = gen_queries.Next();
        const AccessRequest request = query.ToRequest();
        const std::string diff =
            Differs((*full)->Check(request), engine->Check(request));
        ++checks;
        if (!diff.empty()) {
          ++failures;
          ADD_FAILURE() << "MISMATCH seed " << seed << " txn " << t
                        << " (incremental " << result->incremental << ") query "
                        << query.DebugString() << "\n  full vs store: " << diff
                        << "\n  transaction: " << txn.DebugString()
                        << "\n  delta: " << result->delta.DebugString();
          break;
        }
      }
    }
  }
  std::printf("%zu transactions applied (%zu incrementally), %zu refused, "
              "%zu checks\n",
              applied, incremental, refused, checks);
  for (const auto& [name, count] : by_refusal) {
    std::printf("  refused %s: %d\n", name.c_str(), count);
  }
  EXPECT_EQ(failures, 0) << "base seed " << base_seed;
  EXPECT_GT(incremental, applied / 10);
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace arbiter
