#include "tests/store/policy_test_util.h"

#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"

namespace arbiter {
namespace store {
namespace testing {

using ::arbiter::testing::RandomPolicy;
using ::arbiter::testing::RandomPolicyConfig;

namespace {

// The fixed instant of every generated transaction (plus its revision).
constexpr int64_t kEpoch = 1767225600;  // 2026-01-01T00:00:00Z

template <typename T>
const T& Pick(::arbiter::testing::Rng& rng,
              const google::protobuf::RepeatedPtrField<T>& v) {
  return v.Get(static_cast<int>(rng.Below(v.size())));
}

}  // namespace

RandomPolicy RandomStoreState(uint64_t seed) {
  RandomPolicyConfig config;
  config.randomize_options = false;
  config.large_state_probability = 0;
  RandomPolicy policy = ::arbiter::testing::GenerateRandomPolicy(seed, config);
  policy.state.set_revision(1);
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
  return policy;
}

v1::Transaction TxnGenerator::Next(const v1::PolicySet& state,
                                   const Engine& engine) {
  v1::Transaction txn;
  if (state.organizations_size() == 0) return txn;
  const v1::Organization& org = Pick(rng_, state.organizations());
  txn.set_org_id(org.id());
  txn.mutable_metadata()->mutable_time()->set_seconds(
      kEpoch + static_cast<int64_t>(state.revision()));
  txn.mutable_metadata()->set_source_ip("10.0.0.1");
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
  // Usually an owner, so that most transactions pass their guard.
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
    v1::Mutation m;
    const v1::Principal* who = rng_.Pick(members);
    const v1::Cloud* cloud = rng_.Pick(clouds);
    const v1::Project* project =
        projects.empty() ? nullptr : rng_.Pick(projects);
    switch (rng_.Below(15)) {
      case 0:
      case 1: {
        auto* x = m.mutable_set_cloud_member();
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
        auto* x = m.mutable_remove_cloud_member();
        x->set_cloud(cloud->name());
        x->set_principal(who->email());
        break;
      }
      case 3:
      case 4: {
        if (project == nullptr) break;
        auto* x = m.mutable_set_project_member();
        x->set_project(project->id());
        x->set_principal(who->id());
        static const char* kRoles[] = {"project_owner", "project_write",
                                       "project_readonly"};
        x->set_role(kRoles[rng_.Below(3)]);
        break;
      }
      case 5: {
        if (project == nullptr) break;
        auto* x = m.mutable_remove_project_member();
        x->set_project(project->id());
        x->set_principal(who->id());
        break;
      }
      case 6: {
        auto* x = m.mutable_set_org_role();
        x->set_principal(who->id());
        x->set_role(rng_.Chance(0.5) ? "org_owner" : "org_collaborator");
        break;
      }
      case 7: {
        auto* x = m.mutable_set_auto_add();
        x->set_cloud(cloud->id());
        x->set_enabled(rng_.Chance(0.5));
        break;
      }
      case 8: {
        auto* x = m.mutable_set_group_policy();
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
        auto* x = m.mutable_invite_users();
        x->add_emails(absl::StrCat("new", rng_.Below(50), "@x.io"));
        break;
      }
      case 10: {
        std::vector<const v1::Principal*> invited;
        for (const v1::Principal* p : members) {
          if (p->state() == v1::PRINCIPAL_STATE_INVITED) invited.push_back(p);
        }
        if (invited.empty() || n != 1) break;
        const v1::Principal* p = rng_.Pick(invited);
        txn.set_actor(p->id());
        m.mutable_accept_invitation()->set_principal(p->id());
        break;
      }
      case 11:
        m.mutable_remove_user()->set_principal(who->id());
        break;
      case 12: {
        auto* x = m.mutable_create_project();
        x->set_cloud(cloud->id());
        x->set_name(absl::StrCat("p", rng_.Below(100)));
        x->set_public_(rng_.Chance(0.5));
        break;
      }
      case 13: {
        if (project == nullptr) break;
        auto* x = m.mutable_set_project_visibility();
        x->set_project(project->id());
        x->set_visibility(rng_.Chance(0.5) ? v1::VISIBILITY_PUBLIC
                                           : v1::VISIBILITY_PRIVATE);
        break;
      }
      default: {
        if (groups.empty()) break;
        const v1::Group* g = rng_.Pick(groups);
        auto* x = m.mutable_sync_group();
        x->set_group_id(g->id());
        x->set_name(g->name());
        for (const v1::Principal* p : members) {
          if (rng_.Chance(0.3)) x->add_member_ids(p->id());
        }
        break;
      }
    }
    if (m.op_case() != v1::Mutation::OP_NOT_SET) {
      *txn.add_mutations() = std::move(m);
      ++i;
    }
  }
  if (rng_.Chance(0.05)) txn.set_expected_revision(state.revision() + 7);
  return txn;
}

v1::Transaction SetCloudMember(const std::string& org, const std::string& cloud,
                               const std::string& principal,
                               const std::string& role) {
  v1::Transaction txn;
  txn.set_org_id(org);
  txn.set_actor(absl::StrCat("admin_", org));
  auto* m = txn.add_mutations()->mutable_set_cloud_member();
  m->set_cloud(cloud);
  m->set_principal(principal);
  m->set_role(role);
  return txn;
}

std::string CompareWithFullCompile(const Engine& engine,
                                   const v1::PolicySet& state,
                                   const EngineOptions& options, uint64_t seed,
                                   int queries) {
  absl::StatusOr<std::unique_ptr<const Engine>> full =
      Engine::Create(state, options);
  if (!full.ok()) {
    return absl::StrCat("the expected state does not compile: ",
                        full.status().message());
  }
  RandomPolicy policy;
  policy.seed = seed;
  policy.state = state;
  policy.options = options;
  policy.now = absl::FromUnixSeconds(kEpoch);
  policy.query_times = {policy.now};
  ::arbiter::testing::RandomQueryGenerator gen(policy, (*full)->profile(),
                                               seed);
  for (int q = 0; q < queries; ++q) {
    const ::arbiter::testing::RandomQuery query = gen.Next();
    const AccessRequest request = query.ToRequest();
    const Decision a = engine.Check(request);
    const Decision b = (*full)->Check(request);
    if (a.effect != b.effect || a.reason != b.reason || a.source != b.source ||
        a.grant_id != b.grant_id || a.valid_until != b.valid_until ||
        a.revision != b.revision) {
      std::ostringstream os;
      os << "query " << query.DebugString() << ": store " << a
         << " vs full compile " << b;
      return os.str();
    }
  }
  return "";
}

DurableStoreOptions StoreOptions(const EngineOptions& options,
                                 uint64_t checkpoint_every) {
  DurableStoreOptions o;
  o.policy.engine = options;
  o.policy.clock = options.clock;
  if (checkpoint_every > 0) {
    o.checkpoint_after_entries = checkpoint_every;
  }
  return o;
}

}  // namespace testing
}  // namespace store
}  // namespace arbiter
