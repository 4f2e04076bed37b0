// Fuzz target: Check on a fuzzed state and fuzzed requests.
//
// The base state is the demo organization "acme" plus a second organization
// (sharing a cloud name and an email with acme). The input, read through
// FuzzedDataProvider, first edits it -- adds and removes grants (allow and
// deny roles, at any scope, with expiries anywhere in time), group members,
// principals and groups; changes principal states and kinds and project
// visibility -- then names requests. For each request it checks:
//  * the decision is well formed (effect matches reason, revision, deciding
//    grant exists under the reported id, is live and belongs to the
//    principal or one of its groups);
//  * Check by names equals Check by handles and Explain's decision;
//  * a cross-organization request is denied CROSS_ORG; a deleted or invited
//    principal is denied; a service account on the console is denied;
// and two metamorphic properties of docs/semantics.md:
//  * adding an allow grant never removes access, adding a deny grant never
//    adds access;
//  * the order of objects in the PolicySet changes no decision.
// When Engine::Create fails, Engine::Validate reports the same first problem.
// Any violation aborts, as does any sanitizer report.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/explanation.h"
#include "arbiter/profile.h"
#include "arbiter/request.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"

namespace arbiter {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1796083200);  // 2026-12-01

using fuzzing::DecisionString;

const v1::PolicySet& BaseState() {
  static const v1::PolicySet* base = [] {
    auto* s = new v1::PolicySet(DemoPolicySet());
    const bool ok = google::protobuf::TextFormat::MergeFromString(
        R"pb(
          organizations { id: "org_g" name: "globex" }
          clouds { id: "cld_g" org_id: "org_g" name: "prod" }
          projects {
            id: "prj_g_default"
            cloud_id: "cld_g"
            name: "default"
            is_default: true
          }
          projects {
            id: "prj_g_web"
            cloud_id: "cld_g"
            name: "web"
            visibility: VISIBILITY_PRIVATE
          }
          principals {
            id: "usr_gina"
            org_id: "org_g"
            kind: PRINCIPAL_KIND_USER
            email: "gina@globex.com"
          }
          principals {
            id: "usr_alice_g"
            org_id: "org_g"
            kind: PRINCIPAL_KIND_USER
            email: "alice@acme.com"
          }
          groups {
            id: "grp_g"
            org_id: "org_g"
            member_ids: [ "usr_gina" ]
          }
          grants {
            id: "g_gina_prod"
            group_id: "grp_g"
            role: "cloud_collaborator"
            cloud_id: "cld_g"
          }
        )pb",
        s);
    FUZZ_CHECK(ok, "base state");
    return s;
  }();
  return *base;
}

template <typename T>
const T* Pick(FuzzedDataProvider& fdp, const std::vector<T>& v) {
  if (v.empty()) return nullptr;
  return &v[fdp.ConsumeIntegralInRange<size_t>(0, v.size() - 1)];
}

// Organization of a scope or resource id ("" if unknown).
std::string OrgOf(const v1::PolicySet& s, absl::string_view id) {
  for (const v1::Organization& o : s.organizations()) {
    if (o.id() == id) return o.id();
  }
  for (const v1::Image& i : s.images()) {
    if (i.id() == id) return i.org_id();
  }
  auto cloud_org = [&](absl::string_view cloud) -> std::string {
    for (const v1::Cloud& c : s.clouds()) {
      if (c.id() == cloud) return c.org_id();
    }
    return "";
  };
  auto project_org = [&](absl::string_view project) -> std::string {
    for (const v1::Project& p : s.projects()) {
      if (p.id() == project) return cloud_org(p.cloud_id());
    }
    return "";
  };
  for (const v1::Cloud& c : s.clouds()) {
    if (c.id() == id) return c.org_id();
  }
  for (const v1::ComputeConfig& c : s.compute_configs()) {
    if (c.id() == id) return cloud_org(c.cloud_id());
  }
  for (const v1::Project& p : s.projects()) {
    if (p.id() == id) return cloud_org(p.cloud_id());
  }
  for (const v1::Workload& w : s.workloads()) {
    if (w.id() == id) {
      return w.project_id().empty() ? cloud_org(w.cloud_id())
                                    : project_org(w.project_id());
    }
  }
  return "";
}

std::string SubjectOrg(const v1::PolicySet& s, absl::string_view id) {
  for (const v1::Principal& p : s.principals()) {
    if (p.id() == id) return p.org_id();
  }
  for (const v1::Group& g : s.groups()) {
    if (g.id() == id) return g.org_id();
  }
  return "";
}

// The ids a mutation or a request may name.
struct Pools {
  std::vector<std::string> principals, groups, orgs, clouds, projects;
  std::vector<std::string> allow_roles, deny_roles;
  std::vector<std::string> permissions;
  std::vector<std::string> resources;  // ids and paths

  explicit Pools(const v1::PolicySet& s) {
    for (const v1::Principal& p : s.principals()) principals.push_back(p.id());
    for (const v1::Group& g : s.groups()) groups.push_back(g.id());
    for (const v1::Organization& o : s.organizations()) orgs.push_back(o.id());
    for (const v1::Cloud& c : s.clouds()) clouds.push_back(c.id());
    for (const v1::Project& p : s.projects()) projects.push_back(p.id());
    for (const v1::Role& r : BuiltinProfile().roles()) {
      (r.effect() == v1::ROLE_EFFECT_DENY ? deny_roles : allow_roles)
          .push_back(r.name());
    }
    for (const v1::Permission& p : BuiltinProfile().permissions()) {
      permissions.push_back(p.name());
    }
    permissions.push_back("no.such.permission");
    resources = orgs;
    for (const v1::Cloud& c : s.clouds()) {
      resources.push_back(c.id());
      resources.push_back(c.name());
      for (const v1::Project& p : s.projects()) {
        if (p.cloud_id() != c.id()) continue;
        resources.push_back(p.id());
        resources.push_back(c.name() + "/" + p.name());
        for (const v1::Workload& w : s.workloads()) {
          if (w.project_id() == p.id() && !w.name().empty()) {
            resources.push_back(c.name() + "/" + p.name() + "/" + w.name());
          }
        }
      }
    }
    for (const v1::Workload& w : s.workloads()) resources.push_back(w.id());
    for (const v1::Image& i : s.images()) resources.push_back(i.id());
    for (const v1::ComputeConfig& c : s.compute_configs()) {
      resources.push_back(c.id());
    }
    resources.push_back("no-such-cloud/x");
  }
};

google::protobuf::Timestamp FuzzedTime(FuzzedDataProvider& fdp) {
  google::protobuf::Timestamp t;
  switch (fdp.ConsumeIntegralInRange(0, 3)) {
    case 0:
      t.set_seconds(absl::ToUnixSeconds(kNow) - 3600);
      break;
    case 1:
      t.set_seconds(absl::ToUnixSeconds(kNow) + 3600);
      break;
    case 2:
      t.set_seconds(absl::ToUnixSeconds(kNow));
      t.set_nanos(fdp.ConsumeIntegralInRange(0, 2000));
      break;
    default:
      t.set_seconds(fdp.ConsumeIntegral<int64_t>());
      t.set_nanos(fdp.ConsumeIntegral<int32_t>());
      break;
  }
  return t;
}

// A new grant, usually one the compiler accepts: the role's scope type, a
// scope in the subject's organization.
v1::Grant FuzzedGrant(FuzzedDataProvider& fdp, const v1::PolicySet& s,
                      bool deny, int serial) {
  const Pools pools(s);
  v1::Grant g;
  g.set_id(absl::StrCat("g_fz_", serial));
  std::string subject;
  if (!pools.groups.empty() && fdp.ConsumeBool()) {
    subject = *Pick(fdp, pools.groups);
    g.set_group_id(subject);
  } else {
    subject = *Pick(fdp, pools.principals);
    g.set_principal_id(subject);
  }
  const std::string* role =
      Pick(fdp, deny ? pools.deny_roles : pools.allow_roles);
  g.set_role(*role);
  const v1::Role* def = nullptr;
  for (const v1::Role& r : BuiltinProfile().roles()) {
    if (r.name() == *role) def = &r;
  }
  v1::ScopeType scope =
      static_cast<v1::ScopeType>(fdp.ConsumeIntegralInRange(1, 3));
  if (def != nullptr && def->grantable_at_size() > 0 && fdp.ConsumeBool()) {
    scope = static_cast<v1::ScopeType>(def->grantable_at(
        fdp.ConsumeIntegralInRange(0, def->grantable_at_size() - 1)));
  }
  const std::string org = SubjectOrg(s, subject);
  const bool same_org = fdp.ConsumeBool() || fdp.ConsumeBool();
  std::vector<std::string> ids;
  const std::vector<std::string>& all = scope == v1::SCOPE_TYPE_ORG ? pools.orgs
                                        : scope == v1::SCOPE_TYPE_CLOUD
                                            ? pools.clouds
                                            : pools.projects;
  for (const std::string& id : all) {
    if (!same_org || OrgOf(s, id) == org) ids.push_back(id);
  }
  const std::string* scope_id = Pick(fdp, ids.empty() ? all : ids);
  if (scope == v1::SCOPE_TYPE_ORG) g.set_org_id(*scope_id);
  if (scope == v1::SCOPE_TYPE_CLOUD) g.set_cloud_id(*scope_id);
  if (scope == v1::SCOPE_TYPE_PROJECT) g.set_project_id(*scope_id);
  if (fdp.ConsumeIntegralInRange(0, 7) == 0) {
    g.set_source(
        static_cast<v1::GrantSource>(fdp.ConsumeIntegralInRange(1, 3)));
  }
  if (fdp.ConsumeIntegralInRange(0, 3) == 0)
    *g.mutable_expires_at() = FuzzedTime(fdp);
  return g;
}

void Mutate(FuzzedDataProvider& fdp, v1::PolicySet& s, int& serial) {
  const int ops = fdp.ConsumeIntegralInRange(0, 12);
  for (int i = 0; i < ops && fdp.remaining_bytes() > 0; ++i) {
    const Pools pools(s);
    switch (fdp.ConsumeIntegralInRange(0, 10)) {
      case 0:
      case 1:
        *s.add_grants() = FuzzedGrant(fdp, s, /*deny=*/false, serial++);
        break;
      case 2:
        *s.add_grants() = FuzzedGrant(fdp, s, /*deny=*/true, serial++);
        break;
      case 3:
        if (s.grants_size() > 0) {
          const int g = fdp.ConsumeIntegralInRange(0, s.grants_size() - 1);
          s.mutable_grants()->SwapElements(g, s.grants_size() - 1);
          s.mutable_grants()->RemoveLast();
        }
        break;
      case 4:
        if (s.groups_size() > 0) {
          v1::Group* g = s.mutable_groups(
              fdp.ConsumeIntegralInRange(0, s.groups_size() - 1));
          g->add_member_ids(fdp.ConsumeBool() ? *Pick(fdp, pools.principals)
                                              : *Pick(fdp, pools.groups));
        }
        break;  // (the base state has groups, and none is ever removed)
      case 5:
        if (s.groups_size() > 0) {
          v1::Group* g = s.mutable_groups(
              fdp.ConsumeIntegralInRange(0, s.groups_size() - 1));
          if (g->member_ids_size() > 0) {
            g->mutable_member_ids()->SwapElements(
                fdp.ConsumeIntegralInRange(0, g->member_ids_size() - 1),
                g->member_ids_size() - 1);
            g->mutable_member_ids()->RemoveLast();
          }
        }
        break;
      case 6: {
        v1::Principal* p = s.mutable_principals(
            fdp.ConsumeIntegralInRange(0, s.principals_size() - 1));
        if (fdp.ConsumeBool()) {
          p->set_state(static_cast<v1::PrincipalState>(
              fdp.ConsumeIntegralInRange(0, 3)));
        } else {
          p->set_kind(
              static_cast<v1::PrincipalKind>(fdp.ConsumeIntegralInRange(1, 2)));
        }
        break;
      }
      case 7: {
        v1::Project* p = s.mutable_projects(
            fdp.ConsumeIntegralInRange(0, s.projects_size() - 1));
        p->set_visibility(
            static_cast<v1::Visibility>(fdp.ConsumeIntegralInRange(0, 2)));
        break;
      }
      case 8:
        if (s.grants_size() > 0) {
          v1::Grant* g = s.mutable_grants(
              fdp.ConsumeIntegralInRange(0, s.grants_size() - 1));
          if (fdp.ConsumeBool()) {
            *g->mutable_expires_at() = FuzzedTime(fdp);
          } else {
            g->clear_expires_at();
          }
        }
        break;
      case 9: {
        v1::Principal* p = s.add_principals();
        p->set_id(absl::StrCat("usr_fz_", serial++));
        p->set_org_id(*Pick(fdp, pools.orgs));
        p->set_kind(
            static_cast<v1::PrincipalKind>(fdp.ConsumeIntegralInRange(1, 2)));
        std::string email = fdp.ConsumeRandomLengthString(24);
        if (fdp.ConsumeBool()) email = absl::StrCat(p->id(), "@fz.example");
        p->set_email(email);
        if (s.groups_size() > 0 && fdp.ConsumeBool()) {
          s.mutable_groups(fdp.ConsumeIntegralInRange(0, s.groups_size() - 1))
              ->add_member_ids(p->id());
        }
        break;
      }
      default: {
        v1::Group* g = s.add_groups();
        g->set_id(absl::StrCat("grp_fz_", serial++));
        g->set_org_id(*Pick(fdp, pools.orgs));
        g->add_member_ids(fdp.ConsumeBool() ? *Pick(fdp, pools.principals)
                                            : *Pick(fdp, pools.groups));
        if (fdp.ConsumeBool()) {
          s.mutable_groups(fdp.ConsumeIntegralInRange(0, s.groups_size() - 1))
              ->add_member_ids(g->id());
        }
        break;
      }
    }
  }
}

// One fuzzed request; owns its strings.
struct Query {
  std::string principal, permission, resource, org;
  RequestContext context;

  AccessRequest ToRequest() const {
    AccessRequest r;
    r.principal = principal;
    r.permission = permission;
    r.resource = resource;
    r.org = org;
    r.context = context;
    return r;
  }
  std::string DebugString() const {
    return absl::StrCat(
        "principal=", principal, " permission=", permission,
        " resource=", resource, " org=", org,
        " channel=", context.channel == Channel::kConsole ? "console" : "api",
        " now=",
        context.now ? absl::FormatTime(*context.now) : std::string("(clock)"));
  }
};

std::vector<Query> FuzzedQueries(FuzzedDataProvider& fdp,
                                 const v1::PolicySet& s) {
  const Pools pools(s);
  std::vector<Query> queries;
  const int n = fdp.ConsumeIntegralInRange(1, 24);
  for (int i = 0; i < n; ++i) {
    Query q;
    const v1::Principal& p =
        s.principals(fdp.ConsumeIntegralInRange(0, s.principals_size() - 1));
    switch (fdp.ConsumeIntegralInRange(0, 3)) {
      case 0:
      case 1:
        q.principal = p.id();
        break;
      case 2:
        q.principal = p.email();
        if (fdp.ConsumeBool()) q.org = p.org_id();
        break;
      default:
        q.principal = absl::AsciiStrToUpper(p.email());
        break;
    }
    q.permission = *Pick(fdp, pools.permissions);
    q.resource = *Pick(fdp, pools.resources);
    q.context.channel = fdp.ConsumeBool() ? Channel::kConsole : Channel::kApi;
    switch (fdp.ConsumeIntegralInRange(0, 4)) {
      case 0:
        break;  // the engine's clock (kNow)
      case 1:
        q.context.now = kNow;
        break;
      case 2:
        if (s.grants_size() > 0) {
          const v1::Grant& g =
              s.grants(fdp.ConsumeIntegralInRange(0, s.grants_size() - 1));
          q.context.now = absl::FromUnixSeconds(g.expires_at().seconds()) +
                          absl::Nanoseconds(g.expires_at().nanos()) +
                          absl::Microseconds(fdp.ConsumeIntegralInRange(-2, 2));
        }
        break;
      case 3:
        q.context.now =
            fdp.ConsumeBool() ? absl::InfinitePast() : absl::InfiniteFuture();
        break;
      default:
        q.context.now = absl::FromUnixMicros(fdp.ConsumeIntegral<int64_t>());
        break;
    }
    queries.push_back(std::move(q));
  }
  return queries;
}

// The principal a query names, as the state defines it (nullptr if none or
// ambiguous).
const v1::Principal* Named(const v1::PolicySet& s, const Query& q) {
  for (const v1::Principal& p : s.principals()) {
    if (p.id() == q.principal) return &p;
  }
  const v1::Principal* found = nullptr;
  for (const v1::Principal& p : s.principals()) {
    if (!absl::EqualsIgnoreCase(p.email(), q.principal)) continue;
    if (!q.org.empty() && p.org_id() != q.org) continue;
    if (found != nullptr) return nullptr;
    found = &p;
  }
  return found;
}

// Subject ids whose grants apply to `principal`: itself and its groups,
// transitively (a fixed point over the state's memberships).
std::set<std::string> Subjects(const v1::PolicySet& s,
                               const std::string& principal) {
  std::set<std::string> subjects = {principal};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const v1::Group& g : s.groups()) {
      if (subjects.count(g.id())) continue;
      for (const std::string& m : g.member_ids()) {
        if (subjects.count(m)) {
          subjects.insert(g.id());
          grew = true;
          break;
        }
      }
    }
  }
  return subjects;
}

bool IsUnresolved(Reason r) {
  return r == Reason::kUnknownPrincipal || r == Reason::kAmbiguousPrincipal ||
         r == Reason::kUnknownPermission || r == Reason::kUnknownResource;
}

void CheckQueries(const Engine& engine, const v1::PolicySet& s,
                  const std::vector<Query>& queries,
                  std::vector<Decision>* out) {
  for (const Query& q : queries) {
    const AccessRequest r = q.ToRequest();
    const Decision d = engine.Check(r);
    out->push_back(d);
    const std::string what = q.DebugString();
    FUZZ_CHECK(d.effect == EffectOf(d.reason), what, ": ", DecisionString(d));
    FUZZ_CHECK(d.revision == s.revision(), what, ": ", DecisionString(d));

    if (out->size() <= 8) {  // Explain allocates: a few per input
      const Explanation e = engine.Explain(r);
      FUZZ_CHECK(e.decision == d, what, ": Check ", DecisionString(d),
                 ", Explain ", DecisionString(e.decision));
    }

    const v1::Principal* p = Named(s, q);
    if (IsUnresolved(d.reason) || p == nullptr) continue;
    const std::string resource_org = OrgOf(s, q.resource);  // "" for paths

    // By handles.
    absl::optional<PrincipalRef> hp = engine.FindPrincipal(q.principal, q.org);
    absl::optional<PermissionRef> hk = engine.FindPermission(q.permission);
    // With an org, it binds the resource as it does in Check. Without one, an
    // id is found anywhere (Check then decides CROSS_ORG) and a path is looked
    // up in the principal's org, as Check by name does.
    absl::optional<ResourceRef> hr = engine.FindResource(q.resource, q.org);
    if (!hr && q.org.empty()) hr = engine.FindResource(q.resource, p->org_id());
    FUZZ_CHECK(hp && hk && hr, what, ": Check resolved it (", DecisionString(d),
               ") but Find* did not");
    const Decision dh = engine.Check(*hp, *hk, *hr, q.context);
    FUZZ_CHECK(dh == d, what, ": by name ", DecisionString(d), ", by handles ",
               DecisionString(dh));

    // Identity rules come first (steps 2-4).
    if (!resource_org.empty() && resource_org != p->org_id()) {
      FUZZ_CHECK(d.reason == Reason::kCrossOrg, what, ": ", DecisionString(d));
      continue;
    }
    if (p->state() == v1::PRINCIPAL_STATE_DELETED) {
      FUZZ_CHECK(d.reason == Reason::kPrincipalDeleted, what, ": ",
                 DecisionString(d));
      continue;
    }
    if (p->state() == v1::PRINCIPAL_STATE_INVITED) {
      FUZZ_CHECK(d.reason == Reason::kPrincipalInvited, what, ": ",
                 DecisionString(d));
      continue;
    }
    if (p->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
        q.context.channel == Channel::kConsole) {
      FUZZ_CHECK(d.reason == Reason::kServiceAccountConsole, what, ": ",
                 DecisionString(d));
      continue;
    }

    // The deciding grant exists, belongs to the principal or one of its
    // groups, and is live (for an ALLOW).
    if (d.grant_index != Decision::kNoGrant) {
      FUZZ_CHECK(d.grant_index < engine.num_grants(), what, ": ",
                 DecisionString(d));
      const GrantInfo g = engine.grant(d.grant_index);
      FUZZ_CHECK(g.id == d.grant_id && g.source == d.source, what, ": ",
                 DecisionString(d));
      FUZZ_CHECK(Subjects(s, p->id()).count(std::string(g.subject_id)), what,
                 ": the deciding grant belongs to ", g.subject_id);
      if (d.allowed() && g.expires_at.has_value()) {
        const absl::Time now = q.context.now.value_or(kNow);
        FUZZ_CHECK(now < *g.expires_at, what, ": decided by an expired grant ",
                   DecisionString(d));
      }
    } else {
      FUZZ_CHECK(d.grant_id.empty(), what, ": ", DecisionString(d));
    }
  }
}

// A copy of `s` with every repeated field reversed.
v1::PolicySet Reversed(const v1::PolicySet& s) {
  v1::PolicySet r = s;
  auto reverse = [](auto* field) {
    std::reverse(field->begin(), field->end());
  };
  reverse(r.mutable_organizations());
  reverse(r.mutable_clouds());
  reverse(r.mutable_projects());
  reverse(r.mutable_workloads());
  reverse(r.mutable_compute_configs());
  reverse(r.mutable_images());
  reverse(r.mutable_principals());
  reverse(r.mutable_groups());
  reverse(r.mutable_grants());
  for (v1::Group& g : *r.mutable_groups()) reverse(g.mutable_member_ids());
  return r;
}

bool SameIgnoringIndex(Decision a, Decision b) {
  a.grant_index = b.grant_index = 0;
  return a == b;
}

}  // namespace
}  // namespace arbiter

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arbiter;  // NOLINT
  FuzzedDataProvider fdp(data, size);
  EngineOptions options;
  options.clock = std::make_shared<fuzzing::FixedClock>(kNow);

  v1::PolicySet state = BaseState();
  state.set_revision(fdp.ConsumeIntegral<uint64_t>());
  int serial = 0;
  Mutate(fdp, state, serial);

  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  if (!engine.ok()) {
    // Validate agrees (it is not run on success: the same compile, and this
    // target's time is better spent on Check).
    const std::vector<absl::Status> problems = Engine::Validate(state, options);
    FUZZ_CHECK(
        !problems.empty() && absl::StrContains(engine.status().message(),
                                               problems.front().message()),
        "Create: ", engine.status().ToString(), "; Validate found ",
        problems.size(), " problems");
    return 0;
  }

  const std::vector<Query> queries = FuzzedQueries(fdp, state);
  std::vector<Decision> decisions;
  CheckQueries(**engine, state, queries, &decisions);

  // Order independence.
  const v1::PolicySet reversed = Reversed(state);
  absl::StatusOr<std::unique_ptr<const Engine>> reversed_engine =
      Engine::Create(reversed, options);
  FUZZ_CHECK(reversed_engine.ok(), "reordering broke the state: ",
             reversed_engine.status().ToString());
  for (size_t i = 0; i < queries.size(); ++i) {
    const Decision d = (*reversed_engine)->Check(queries[i].ToRequest());
    FUZZ_CHECK(SameIgnoringIndex(d, decisions[i]), queries[i].DebugString(),
               ": in order ", DecisionString(decisions[i]), ", reversed ",
               DecisionString(d));
  }

  // Monotonicity: one more grant.
  const bool deny = fdp.ConsumeBool();
  v1::PolicySet more = state;
  *more.add_grants() = FuzzedGrant(fdp, state, deny, serial++);
  absl::StatusOr<std::unique_ptr<const Engine>> more_engine =
      Engine::Create(more, options);
  if (!more_engine.ok()) return 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const Decision d = (*more_engine)->Check(queries[i].ToRequest());
    const Decision& before = decisions[i];
    if (deny) {
      FUZZ_CHECK(!d.allowed() || before.allowed(), queries[i].DebugString(),
                 ": the deny grant ",
                 more.grants(more.grants_size() - 1).role(), " turned ",
                 DecisionString(before), " into ", DecisionString(d));
    } else {
      FUZZ_CHECK(d.allowed() || !before.allowed(), queries[i].DebugString(),
                 ": the allow grant ",
                 more.grants(more.grants_size() - 1).role(), " turned ",
                 DecisionString(before), " into ", DecisionString(d));
    }
  }
  return 0;
}
