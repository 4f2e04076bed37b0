// A deterministic generator of synthetic organizations, shared by the tests
// and the benchmarks (benchmarks/, BENCHMARKS.md).
//
// GenerateWorkload(spec) builds a valid v1::PolicySet (Engine::Create accepts
// it with the built-in Anyscale profile) of the requested size: one
// organization, clouds with a public default project each, public and private
// projects, workloads, users, service accounts, groups (some nested), org
// owners, cloud owners and collaborators, auto-added members, direct and group
// project grants (owner / write / readonly), deny roles (cloud_read_only,
// image_reader), and expiring grants, some of them already expired at
// WorkloadNow().
//
// The output depends only on the spec: a fixed PRNG (splitmix64) with its own
// range reduction, no std::*_distribution, no hash-map iteration order, no
// floating point. The same spec yields byte-identical PolicySets on every
// platform; WorkloadFingerprint() summarizes one.
//
// MakeQueries() draws deterministic query sets for each benchmark scenario
// (allowed by a direct grant, through a group, as org owner, through a public
// project; denied; unknown principal). Each query carries the decision the
// generator expects, computed from its own bookkeeping with a small model of
// docs/semantics.md restricted to the roles it uses; tests/workload_test.cc
// holds the engine to it.
//
// Example:
//
//   arbiter::testing::Workload w =
//       arbiter::testing::GenerateWorkload(arbiter::testing::SpecFor(
//           arbiter::testing::WorkloadSize::kM));
//   auto engine = arbiter::Engine::Create(w.policy, WorkloadEngineOptions());
//   std::vector<arbiter::testing::Query> q =
//       arbiter::testing::MakeQueries(w, arbiter::testing::QueryKind::kGroup,
//                                     4096, /*seed=*/1);

#ifndef ARBITER_TESTS_TESTING_WORKLOAD_H_
#define ARBITER_TESTS_TESTING_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/engine_options.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {
namespace testing {

// The four standard sizes of issue 5.
enum class WorkloadSize { kS, kM, kL, kXL };

// "S", "M", "L", "XL".
absl::string_view WorkloadSizeName(WorkloadSize size);
// Parses "S", "M", "L" or "XL" (case-insensitive). False if unknown.
bool ParseWorkloadSize(absl::string_view name, WorkloadSize* size);

struct WorkloadSpec {
  std::string name;  // "S", "M", ... or anything for custom specs
  uint64_t seed = 1;
  int clouds = 1;
  int projects_per_cloud = 10;  // including the default project
  // Per mille of the projects that are public, the default projects
  // included (they are always public).
  int public_per_mille = 200;
  int workloads = 100;
  int users = 100;
  // Service accounts, in addition to the users.
  int service_accounts = 1;
  int groups = 2;
  int group_size = 10;
  // Per mille of the groups nested inside another group of the same cloud.
  int nested_group_per_mille = 100;
  int org_owners = 2;
  int cloud_owners_per_cloud = 3;
  int collaborators_per_cloud = 20;
  // Direct project grants per user: uniform in [min, max].
  int min_project_grants = 3;
  int max_project_grants = 7;
  // Project grants per group.
  int group_project_grants = 5;
  // Per mille of the users with a second cloud (cloud_readonly + one or two
  // project grants there).
  int second_cloud_per_mille = 100;
  // Per mille of the users holding cloud_read_only on their home cloud, and
  // image_reader on the organization.
  int cloud_read_only_per_mille = 20;
  int image_reader_per_mille = 20;
  // Per mille of the project grants that expire; half of them already expired
  // at WorkloadNow().
  int expiring_per_mille = 50;
  // Per mille of the ordinary users auto-added to their home cloud, and of
  // those relying on a group's cloud grant alone.
  int auto_add_per_mille = 100;
  int group_only_per_mille = 200;
  // Per mille of the users deleted (grants kept) and invited (no grants).
  int deleted_per_mille = 10;
  int invited_per_mille = 5;
};

// The standard specs. S: 1 cloud, 10 projects, 100 workloads, 100 users (plus
// 2 groups of 10 so every scenario exists). M ("org-scale", the core issue):
// 10 clouds, 1,000 projects, 10,000 workloads, 10,000 users, 100 groups of
// 50, 10 org owners, per cloud 3 owners and 20 collaborators, on average 5
// project grants per user (~62,000 grants). L: 10x M. XL: 100x M (1,000,000
// users, ~6,200,000 grants).
WorkloadSpec SpecFor(WorkloadSize size);

// The fixed instant the workloads are evaluated at (2026-01-01T00:00:00Z).
absl::Time WorkloadNow();

// Engine options for generated workloads: the built-in profile and a clock
// fixed at WorkloadNow().
EngineOptions WorkloadEngineOptions();

// Rough peak memory, in bytes, of generating and compiling `spec` in one
// process (proto + compiler temporaries + snapshot). Used to skip sizes that
// do not fit.
size_t EstimatedPeakBytes(const WorkloadSpec& spec);
// MemAvailable from /proc/meminfo, in bytes; 0 if unknown.
size_t AvailableMemoryBytes();
// True if EstimatedPeakBytes(spec) fits in the available memory (or the
// available memory is unknown); otherwise false with a message in `why`.
bool WorkloadFits(const WorkloadSpec& spec, std::string* why);

// The generator's bookkeeping, used by MakeQueries. Indices: principals are
// users [0, users) then service accounts; nodes are the org (0), clouds,
// projects, then workloads.
struct WorkloadModel;

struct Workload {
  Workload();
  Workload(Workload&&) noexcept;
  Workload& operator=(Workload&&) noexcept;
  ~Workload();

  WorkloadSpec spec;
  v1::PolicySet policy;
  std::shared_ptr<const WorkloadModel> model;
};

Workload GenerateWorkload(const WorkloadSpec& spec);

// FNV-1a 64 of the PolicySet's serialization: equal fingerprints mean the
// same generated state (BENCHMARKS.md quotes them).
uint64_t WorkloadFingerprint(const v1::PolicySet& policy);

enum class QueryKind {
  kDirect,            // ALLOW GRANT through the principal's own project grant
  kGroup,             // ALLOW GRANT through a group's grant
  kOrgOwner,          // ALLOW ORG_OWNER
  kPublicProject,     // ALLOW PUBLIC_PROJECT through a cloud role
  kDenied,            // DENY NO_CLOUD_GRANT / NO_PROJECT_GRANT /
                      //      INSUFFICIENT_ROLE / DENY_ROLE
  kUnknownPrincipal,  // DENY UNKNOWN_PRINCIPAL
};
inline constexpr QueryKind kAllQueryKinds[] = {
    QueryKind::kDirect,   QueryKind::kGroup,
    QueryKind::kOrgOwner, QueryKind::kPublicProject,
    QueryKind::kDenied,   QueryKind::kUnknownPrincipal};

// "direct", "group", "org_owner", "public_project", "denied", "unknown".
absl::string_view QueryKindName(QueryKind kind);

struct Query {
  QueryKind kind;
  // The same request twice: by ids, and by email and resource path.
  std::string principal_id;
  std::string principal_email;
  std::string permission;
  std::string resource_id;
  std::string resource_path;  // cloud/project[/workload], names
  // What the generator's model predicts.
  Reason expected_reason;
  GrantSource expected_source;
};

// `count` queries of `kind`, deterministic in (workload, kind, seed). Draws
// over many principals and resources, so a benchmark cycling through them
// does not replay one cached request. Small workloads repeat queries. Returns
// fewer than `count` only if the workload has no such request at all.
std::vector<Query> MakeQueries(const Workload& workload, QueryKind kind,
                               size_t count, uint64_t seed);

// `count` queries drawn from every kind but kUnknownPrincipal, shuffled.
std::vector<Query> MakeMixedQueries(const Workload& workload, size_t count,
                                    uint64_t seed);

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_TESTING_WORKLOAD_H_
