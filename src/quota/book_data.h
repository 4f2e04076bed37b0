// The compiled form of a QuotaBook: the state's organizations, clouds,
// projects and principals as integer-indexed tables, the enforced quotas
// indexed by scope (at most one per scope, so a node finds its at most four
// quotas with two array reads and two hash probes), and the enforced
// budgets indexed by organization, cloud and project.
//
// Internal: included by src/quota only.

#ifndef ARBITER_SRC_QUOTA_BOOK_DATA_H_
#define ARBITER_SRC_QUOTA_BOOK_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "arbiter/quota.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {
namespace internal {

inline constexpr uint32_t kNoIndex = 0xFFFFFFFFu;
// A name that two objects share: resolving it is ambiguous.
inline constexpr uint32_t kAmbiguous = 0xFFFFFFFEu;

// The four scope shapes, in the order the accountant locks them.
enum ScopeShape : uint8_t {
  kShapeCloud = 0,        // (cloud, ALL, ALL)
  kShapeProject = 1,      // (cloud, project, ALL)
  kShapeUser = 2,         // (cloud, ALL, user)
  kShapeProjectUser = 3,  // (cloud, project, user)
};

// An enforced quota. Limits are -1 when unlimited.
struct CompiledQuota {
  uint32_t index = 0;  // into QuotaBookData::quotas
  ScopeShape shape = kShapeCloud;
  bool hard = false;
  int64_t cpus = -1;
  int64_t gpus = -1;
  int64_t instances = -1;
  struct Accelerator {
    std::string type;  // canonical
    uint64_t key = 0;  // AcceleratorKey(type)
    int64_t limit = 0;
  };
  // Sorted by type.
  std::vector<Accelerator> accelerators;
};

struct CompiledThreshold {
  double percent = 0;
  // Spend (micro-credits) at or above which the threshold is crossed:
  // ceil(amount * percent / 100).
  int64_t micro = 0;
};

// An enforced budget.
struct CompiledBudget {
  uint32_t index = 0;  // into QuotaBookData::budgets
  v1::BudgetPeriod period = v1::BUDGET_PERIOD_UNSPECIFIED;
  int64_t amount_micro = 0;
  std::vector<CompiledThreshold> thresholds;  // ascending
  // Unix seconds of created_at; periods that end at or before it do not
  // alert. INT64_MIN when unset.
  int64_t created_seconds = 0;
  uint32_t org = kNoIndex;
  uint32_t cloud = kNoIndex;    // kNoIndex: organization-wide
  uint32_t project = kNoIndex;  // kNoIndex: organization or cloud budget
};

// Budget slots per scope: [0] daily, [1] monthly; indices into
// QuotaBookData::compiled_budgets, or kNoIndex.
struct BudgetSlots {
  uint32_t slot[2] = {kNoIndex, kNoIndex};
};

struct OrgInfo {
  std::string id;
  std::string name;
  BudgetSlots budgets;
};

struct CloudInfo {
  std::string id;
  std::string name;
  uint32_t org = kNoIndex;
  uint32_t default_project = kNoIndex;
  uint32_t quota = kNoIndex;  // compiled index of its (cloud, ALL, ALL) quota
  BudgetSlots budgets;
};

struct ProjectInfo {
  std::string id;
  std::string name;
  uint32_t cloud = kNoIndex;
  uint32_t quota = kNoIndex;  // (cloud, project, ALL)
  BudgetSlots budgets;
};

struct PrincipalInfo {
  std::string id;
  std::string email_lower;
  uint32_t org = kNoIndex;
  v1::PrincipalState state = v1::PRINCIPAL_STATE_UNSPECIFIED;
};

// What the node path needs of a cloud, project or principal, kept in the
// id map's slot next to the id (no second cache line to read).
struct IdEntry {
  uint32_t index = kNoIndex;   // into clouds / projects / principals
  uint32_t parent = kNoIndex;  // cloud: org; project: cloud; principal: org
  uint32_t quota = kNoIndex;   // cloud: (cloud) quota; project: (cloud,
                               // project) quota; compiled indices
};

// (parent index, name) keys for names unique among siblings.
using NameKey = std::pair<uint32_t, absl::string_view>;

inline uint64_t PairKey(uint32_t a, uint32_t b) {
  return (static_cast<uint64_t>(a) << 32) | b;
}

struct QuotaBookData {
  uint64_t revision = 0;
  // Unique per book in the process (never 0): the accountant caches a
  // node's quotas per book under this key.
  uint64_t uid = 0;
  std::vector<v1::ResourceQuota> quotas;
  std::vector<v1::Budget> budgets;
  std::vector<CompiledQuota> compiled;
  std::vector<CompiledBudget> compiled_budgets;

  std::vector<OrgInfo> orgs;
  std::vector<CloudInfo> clouds;
  std::vector<ProjectInfo> projects;
  std::vector<PrincipalInfo> principals;

  // Ids own their keys (short ids sit in the slot); the name maps view the
  // vectors above (filled once they are complete).
  absl::flat_hash_map<std::string, uint32_t> org_by_id;
  absl::flat_hash_map<absl::string_view, uint32_t> org_by_name;
  absl::flat_hash_map<std::string, IdEntry> cloud_by_id;
  absl::flat_hash_map<NameKey, uint32_t> cloud_by_name;  // (org, name)
  absl::flat_hash_map<std::string, IdEntry> project_by_id;
  absl::flat_hash_map<NameKey, uint32_t> project_by_name;  // (cloud, name)
  absl::flat_hash_map<std::string, IdEntry> principal_by_id;
  // (org, lower-case email) -> the live principal holding it (else a
  // deleted one).
  absl::flat_hash_map<NameKey, uint32_t> principal_by_email;

  // (cloud, principal) and (project, principal) -> compiled quota.
  absl::flat_hash_map<uint64_t, uint32_t> cloud_user_quota;
  absl::flat_hash_map<uint64_t, uint32_t> project_user_quota;
};

// Finds the enforced quotas of a node given by ids. Returns kWithinQuota
// (meaning "resolved") and fills `out` (compiled indices, in shape order)
// and `*count`, or the reason the node does not resolve. Never allocates.
QuotaReason FindNodeQuotas(const QuotaBookData& book,
                           absl::string_view cloud_id,
                           absl::string_view project_id,
                           absl::string_view creator_id, uint32_t out[4],
                           int* count);

// The compiled budgets (at most six) covering spend in (cloud, project);
// `project` may be kNoIndex.
int FindBudgets(const QuotaBookData& book, uint32_t cloud, uint32_t project,
                uint32_t out[6]);

// UTC periods: the start (Unix seconds) of the day or month containing
// `unix_seconds`, and of the next one.
int64_t PeriodStart(v1::BudgetPeriod period, int64_t unix_seconds);
int64_t NextPeriodStart(v1::BudgetPeriod period, int64_t period_start);

// Validation helpers shared with the book.
bool IsValidAcceleratorType(absl::string_view name);
// Upper-cases `name` into `buffer` (of kMaxAcceleratorTypeLength bytes);
// false if it is too long.
inline constexpr size_t kMaxAcceleratorTypeLength = 64;
bool CanonicalizeAcceleratorType(absl::string_view name, char* buffer,
                                 absl::string_view* out);

// Credits <-> micro-credits (rounded to nearest; saturating).
int64_t ToMicroCredits(double credits);
double FromMicroCredits(int64_t micro);

}  // namespace internal

// White-box access for the accountant, the tracker and tests.
class QuotaBookAccess {
 public:
  static const internal::QuotaBookData& Data(const QuotaBook& book) {
    return *book.data_;
  }
};

}  // namespace arbiter

#endif  // ARBITER_SRC_QUOTA_BOOK_DATA_H_
