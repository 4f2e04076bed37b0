// Random valid access states and random queries against them, for the
// differential test, the property tests and stress tests.
//
// GenerateRandomPolicy builds a v1::PolicySet that Engine::Create accepts:
// several organizations (the same email sometimes in two of them), clouds,
// public and private projects with one public default project per cloud,
// workloads with and without project_id, users and service accounts in every
// state, nested groups (a DAG), grants of every built-in role at valid scopes
// (org owner, collaborators, every cloud base role, cloud_read_only, project
// roles, image deny roles, auto-add grants), expiries around the query time,
// sometimes custom permissions and roles, and random EngineOptions knobs. It
// never generates IAM mapping rules. Everything is a pure function of the
// seed, so a seed reproduces a state exactly.
//
// RandomQueryGenerator draws requests against such a state: principals by id,
// by email in random letter case (with or without an org), unknown ones;
// every permission of the effective profile plus unknown names; resources by
// id and by `cloud/project/workload` path, of any organization, and unknown
// ones; both channels; and query times before, at and after the expiries.
//
// Example:
//
//   RandomPolicy policy = GenerateRandomPolicy(seed);
//   auto engine = Engine::Create(policy.state, policy.options);
//   RandomQueryGenerator queries(policy, (*engine)->profile(), seed);
//   for (int i = 0; i < 1000; ++i) {
//     RandomQuery q = queries.Next();
//     Decision d = (*engine)->Check(q.ToRequest());
//   }

#ifndef ARBITER_TESTS_TESTING_RANDOM_POLICY_H_
#define ARBITER_TESTS_TESTING_RANDOM_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/engine_options.h"
#include "arbiter/request.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {
namespace testing {

// A small deterministic random source (std::mt19937_64 with portable
// distributions, so a seed means the same thing on every platform).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Next() { return gen_(); }
  // Uniform in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  // Uniform in [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<size_t>(hi - lo + 1)));
  }
  bool Chance(double p) {
    return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i)
      std::swap((*v)[i - 1], (*v)[Below(i)]);
  }

 private:
  std::mt19937_64 gen_;
};

// Derives the seed of item `index` of a run from the run's base seed
// (SplitMix64), so that every item can be reproduced on its own.
uint64_t MixSeed(uint64_t base, uint64_t index);

struct RandomPolicyConfig {
  // Organizations per state; at least 2 so that cross-org requests happen.
  int min_orgs = 2;
  int max_orgs = 3;
  int max_clouds_per_org = 3;
  // Non-default projects per cloud.
  int max_projects_per_cloud = 3;
  int max_workloads_per_project = 3;
  int min_principals_per_org = 3;
  int max_principals_per_org = 8;
  int max_groups_per_org = 5;
  // Chance that a state is large: three times the projects, and dense grants
  // (subjects with dozens of grants, many grants per scope).
  double large_state_probability = 0.15;
  // Chance that a grant gets an expiry near `now`.
  double expiry_probability = 0.3;
  // Chance that the state defines custom permissions and roles.
  double custom_vocabulary_probability = 0.35;
  // Randomize the EngineOptions knobs of access-model §12 (otherwise the
  // defaults are used).
  bool randomize_options = true;
  // Grants that another grant depends on for validity (the cloud grant or
  // org ownership a project grant needs) never expire. Set it when a test
  // removes expired grants and must keep the state valid.
  bool prerequisites_never_expire = false;
  // Expiries are whole multiples of this. The default, 1ns, uses the full
  // precision of google.protobuf.Timestamp.
  absl::Duration expiry_resolution = absl::Nanoseconds(1);
  // The central query time; expiries are placed around it.
  absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
};

struct RandomPolicy {
  uint64_t seed = 0;
  RandomPolicyConfig config;
  v1::PolicySet state;
  // Random §12 knobs; `clock` is a fixed clock at `now`.
  EngineOptions options;
  absl::Time now;
  // `now` and the instants 1ns and 1s either side of it, every expiry and the
  // instants 1ns either side of it, and two instants 400 days away.
  std::vector<absl::Time> query_times;
};

// A valid random state (Engine::Create accepts it with `options`; a failure
// is a bug in the generator or the compiler). Deterministic in (seed, config).
RandomPolicy GenerateRandomPolicy(uint64_t seed,
                                  const RandomPolicyConfig& config = {});

enum class GrantKind {
  kAllow,  // a grant of an allow role
  kDeny,   // a grant of a deny role
};

// Adds one random grant of `kind` that keeps `policy->state` valid (scope,
// subject kind, prerequisites, incompatible roles, project role limits), with
// a fresh id and possibly an expiry (added to policy->query_times). Returns
// false if no such grant was found.
bool AddRandomGrant(Rng& rng, GrantKind kind, RandomPolicy* policy);

// Removes every grant that is expired at `at` (expires_at <= at).
void RemoveExpiredGrants(absl::Time at, v1::PolicySet* state);

// Removes every grant.
void RemoveAllGrants(v1::PolicySet* state);

// Shuffles every repeated field of `state`, at every depth: organizations,
// clouds, projects, workloads, compute configs, images, principals, groups
// and their members, grants, custom permissions, custom roles and their
// lists. The state means the same thing afterwards.
void ShufflePolicySet(Rng& rng, v1::PolicySet* state);

// One request. Owns its strings; ToRequest returns views into them.
struct RandomQuery {
  std::string principal;
  std::string permission;
  std::string resource;
  std::string org;
  RequestContext context;

  // The intended principal's id and organization ("" when the query names an
  // unknown principal), and whether `resource` is a path (resolve it with
  // FindResource(resource, principal_org_id)).
  std::string principal_id;
  std::string principal_org_id;
  bool resource_is_path = false;

  AccessRequest ToRequest() const;
  // principal=... permission=... resource=... org=... channel=... now=...
  std::string DebugString() const;
};

// Not thread-safe: give each thread its own generator (and seed).
class RandomQueryGenerator {
 public:
  // `policy` must outlive the generator. `profile` is the effective profile
  // (Engine::profile()) whose permissions the queries name.
  RandomQueryGenerator(const RandomPolicy& policy, const v1::Profile& profile,
                       uint64_t seed);

  RandomQuery Next();

 private:
  struct Target {
    std::string id;
    std::string org_id;
    std::string path;  // empty when the object has no path
    int level;         // deepest permission level: 0 org, 1 cloud, 2 project
    std::string creator_id;  // workloads
  };

  const v1::Principal* PrincipalById(absl::string_view id) const;
  void PickPrincipal(const std::string& resource_org,
                     const std::string& creator, RandomQuery* q);

  const RandomPolicy& policy_;
  Rng rng_;
  std::vector<std::string> permissions_;
  std::vector<std::string> permissions_by_level_[3];
  std::vector<std::string> own_workload_permissions_;
  std::vector<Target> resources_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_TESTING_RANDOM_POLICY_H_
