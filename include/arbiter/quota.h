// File: arbiter/quota.h
//
// Resource quotas, budgets and one admission decision for a workload launch
// (access-model §7, §8.1, §4.1 rule 9).
//
// Four pieces, from configuration to run time:
//
//  * ValidateQuotas / ValidateQuotaChange / ValidateBudgetChange: the rules
//    a state's quotas and budgets must satisfy, as pure functions over a
//    v1::PolicySet, for the compiler and for the admin layer.
//  * QuotaBook: the enabled, non-deleted quotas and budgets of a state,
//    compiled and indexed by scope. Immutable, like an Engine; build a new
//    one when the state changes.
//  * QuotaAccountant: the CPUs, GPUs, accelerators and instances of the
//    running nodes, kept per scope, and AdmitNode, which admits a node
//    against the quotas of a QuotaBook atomically with a reservation.
//    Usage does not belong to a book: installing another book (quotas added,
//    edited, disabled) changes nothing in the accountant, and a new quota
//    sees at once the usage already running in its scope.
//  * BudgetTracker: credits spent, aggregated per UTC day and month per
//    organization, cloud and project, and threshold alerts handed to a
//    caller-supplied sink. Budgets never block.
//
// Admit combines them with the Engine for a workload launch: RBAC (Check),
// the cloud identity (ResolveIam), the head node against the quotas and the
// budget state, in one explained LaunchDecision that fails closed.
//
// Example:
//
//   auto book = arbiter::QuotaBook::Create(state);       // once per state
//   if (!book.ok()) return book.status();
//   arbiter::QuotaAccountant accountant;                  // once per process
//
//   arbiter::Node node;
//   node.cloud_id = "cld_prod";
//   node.project_id = "prj_ml_prod";
//   node.creator_id = "usr_dave";
//   node.gpus = 4;
//   node.accelerator_type = "A100-80G";
//   node.accelerators = 4;
//   arbiter::NodeAdmission a = accountant.AdmitNode(**book, node);
//   if (a.outcome == arbiter::QuotaOutcome::kBlock) return;  // a.breaches[0]
//   if (StartNode()) accountant.Commit(a.reservation);
//   else accountant.Release(a.reservation);
//   ...
//   accountant.NodeStopped(node);  // when it stops
//
// The rules, the concurrency design and the figures are in docs/quotas.md.

#ifndef ARBITER_QUOTA_H_
#define ARBITER_QUOTA_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/request.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/quota.pb.h"

namespace arbiter {

class Engine;

namespace internal {
struct QuotaBookData;
struct AccountantState;
struct SpendLedger;
}  // namespace internal

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------
//
// Each problem is a status whose message starts with the field path:
//   quotas[2].cloud_id: unknown cloud "cld_9"
// and whose code tells the admin layer which refusal to give:
//   InvalidArgument     a malformed field (id syntax, negative limit, bad
//                       accelerator name, no period, bad threshold, ...)
//   NotFound            a reference to an object that does not exist
//   FailedPrecondition  a reference that exists but may not be used here (a
//                       project of another cloud, a user of another
//                       organization, a deleted user for a new quota)
//   AlreadyExists       a duplicate: an id used twice, a second quota for one
//                       (cloud, project, user), a second daily or monthly
//                       budget for one (cloud, project)
// Soft-deleted quotas and budgets (deleted_at set) are history: their id
// must stay well-formed and unique, nothing else is checked.

// Every problem of the quotas and budgets of `state`, up to `max_errors`;
// empty when valid. Cost: linear in the size of the state.
std::vector<absl::Status> ValidateQuotas(const v1::PolicySet& state,
                                         size_t max_errors = 100);

// Checks one candidate quota for a mutation of `state`: `index` is the
// position of the quota it replaces (modify, enable, disable, delete), or -1
// for a new one (it is then reported as quotas[state.quotas_size()]). Checks
// the candidate's own fields and references, and its conflicts with the
// other quotas; also refuses changing the id of an existing quota, changing
// a deleted one, and a new (or re-targeted) quota for a deleted user. Returns
// the first problem, or OK.
absl::Status ValidateQuotaChange(const v1::PolicySet& state, int index,
                                 const v1::ResourceQuota& candidate);

// The same for a budget (budgets[index], or -1 for a new one).
absl::Status ValidateBudgetChange(const v1::PolicySet& state, int index,
                                  const v1::Budget& candidate);

// Accelerator type names are compared case-insensitively: "a100-80g" and
// "A100-80G" are one type. This returns the canonical (upper-case) form.
std::string CanonicalAcceleratorType(absl::string_view name);

// ---------------------------------------------------------------------------
// QuotaBook
// ---------------------------------------------------------------------------

// The canonical ids of a (cloud, project, user) scope, as views into the
// QuotaBook that resolved them.
struct ScopeIds {
  absl::string_view org_id;
  absl::string_view cloud_id;
  absl::string_view project_id;  // never empty: the default project if unset
  absl::string_view user_id;     // empty when not asked for
};

// The compiled quotas and budgets of one state, with the ids and names of its
// organizations, clouds, projects and principals (to resolve nodes and
// launches). Lookups cost a few hash probes, independent of the number of
// quotas: at most four quotas apply to any node, one per scope shape
// (cloud, cloud+project, cloud+user, cloud+project+user), since a state has
// at most one live quota per scope.
//
// A QuotaBook is immutable and safe for concurrent use from any number of
// threads. Views it hands out (ids, names, breaches) stay valid while it is
// alive.
class QuotaBook {
 public:
  // Validates the quotas and budgets of `state` (ValidateQuotas) and
  // compiles them. On failure returns the first problem's status (its code
  // and field path), followed by "(and N more problems)" when there are
  // more. Cost: linear in the size of the state.
  static absl::StatusOr<std::unique_ptr<const QuotaBook>> Create(
      const v1::PolicySet& state);

  QuotaBook(const QuotaBook&) = delete;
  QuotaBook& operator=(const QuotaBook&) = delete;
  ~QuotaBook();

  // PolicySet::revision of the state.
  uint64_t revision() const;

  // Every quota and budget of the state, in state order (disabled and
  // deleted ones included); QuotaBreach::quota_index indexes quotas().
  const std::vector<v1::ResourceQuota>& quotas() const;
  const std::vector<v1::Budget>& budgets() const;
  // Enabled and not deleted: the ones that apply.
  size_t num_enforced_quotas() const;
  size_t num_enforced_budgets() const;

  // Resolves a scope given by ids or names: `cloud` is a cloud id or a cloud
  // name within `org` (an id or name; optional when the state has one
  // organization); `project` a project id or a name within the cloud, empty
  // for the cloud's default project; `user` a principal id or an email
  // (case-insensitive) of the cloud's organization, or empty. Returns
  // NotFound naming what is unknown, FailedPrecondition for an object of
  // another cloud or organization, InvalidArgument for an ambiguous name.
  absl::StatusOr<ScopeIds> Resolve(absl::string_view cloud,
                                   absl::string_view project,
                                   absl::string_view user,
                                   absl::string_view org = {}) const;

  // Indices (into quotas()) of the enforced quotas that apply to a node of
  // (cloud_id, project_id, creator_id), ids only. At most four; empty for
  // unknown ids.
  std::vector<uint32_t> ApplicableQuotas(absl::string_view cloud_id,
                                         absl::string_view project_id,
                                         absl::string_view creator_id) const;

  // Indices (into budgets()) of the enforced budgets covering spend in
  // (cloud_id, project_id): organization-wide, cloud and project budgets,
  // daily and monthly. At most six.
  std::vector<uint32_t> ApplicableBudgets(absl::string_view cloud_id,
                                          absl::string_view project_id) const;

  // Approximate heap bytes held.
  size_t MemoryUsage() const;

 private:
  explicit QuotaBook(std::unique_ptr<const internal::QuotaBookData> data);
  friend class QuotaBookAccess;  // src/quota/book_data.h
  std::unique_ptr<const internal::QuotaBookData> data_;
};

// ---------------------------------------------------------------------------
// Nodes and their admission
// ---------------------------------------------------------------------------

// A node of a cluster, by ids. Every node is one instance; the head node
// counts like any other. Views must outlive the call.
struct Node {
  absl::string_view cloud_id;
  // The project's id. Must be set: a workload without a project runs in its
  // cloud's default project (QuotaBook::Resolve finds it).
  absl::string_view project_id;
  // The principal the node counts for: the workload's creator (a service
  // account's workloads count toward the service account).
  absl::string_view creator_id;
  int64_t cpus = 0;
  int64_t gpus = 0;
  // Accelerator type ("A100-80G"; any case) and how many; empty type with
  // 0 accelerators for none.
  absl::string_view accelerator_type;
  int64_t accelerators = 0;
};

enum class QuotaOutcome : uint8_t {
  kAdmit,           // within every applicable quota (or none applies)
  kAdmitWithAlert,  // a soft quota would be passed: admit, and notify
  kBlock,           // a hard quota would be passed, or the node is invalid
};

enum class QuotaReason : uint8_t {
  kWithinQuota,        // kAdmit
  kSoftQuotaExceeded,  // kAdmitWithAlert: breaches lists the soft quotas
  kHardQuotaExceeded,  // kBlock: breaches[0] is a hard quota
  // kBlock, fail closed: the node does not resolve in the book.
  kUnknownCloud,
  kUnknownProject,
  kProjectNotInCloud,
  kUnknownCreator,
  kCreatorNotInOrg,  // the creator belongs to another organization
  kInvalidNode,      // a negative amount, a missing id, a bad type name
  // Every reservation slot is held (QuotaAccountantOptions::max_reservations).
  kTooManyReservations,
  kInternalError,
};

enum class QuotaDimension : uint8_t { kCpus, kGpus, kInstances, kAccelerators };

// "ADMIT", "ADMIT_WITH_ALERT", "BLOCK".
absl::string_view QuotaOutcomeName(QuotaOutcome outcome);
// "WITHIN_QUOTA", "HARD_QUOTA_EXCEEDED", ...
absl::string_view QuotaReasonName(QuotaReason reason);
// "cpus", "gpus", "instances", "accelerators".
absl::string_view QuotaDimensionName(QuotaDimension dimension);

// One quota that the node would pass: its first passed dimension (in the
// order cpus, gpus, instances, then accelerator types by name). Views point
// into the QuotaBook.
struct QuotaBreach {
  uint32_t quota_index = 0;  // into QuotaBook::quotas()
  absl::string_view quota_id;
  absl::string_view quota_name;
  bool hard = false;
  QuotaDimension dimension = QuotaDimension::kCpus;
  absl::string_view accelerator_type;  // for kAccelerators (canonical)
  int64_t usage = 0;                   // in the quota's scope, before this node
  int64_t requested = 0;               // by this node
  int64_t limit = 0;
};

// What AdmitNode or CheckNode decided. A small value; never allocates.
struct NodeAdmission {
  static constexpr int kMaxQuotas = 4;

  QuotaOutcome outcome = QuotaOutcome::kBlock;
  QuotaReason reason = QuotaReason::kInternalError;
  // The reservation holding the node's capacity (AdmitNode, when admitted);
  // 0 otherwise. Commit it when the node starts, Release it if it does not.
  uint64_t reservation = 0;
  // The enforced quotas that applied (indices into QuotaBook::quotas()).
  int num_applicable = 0;
  uint32_t applicable[kMaxQuotas] = {};
  // The quotas the node would pass: hard ones first, each group in scope
  // order (cloud, project, user, project+user).
  int num_breaches = 0;
  QuotaBreach breaches[kMaxQuotas];
  // PolicySet::revision of the book.
  uint64_t revision = 0;

  bool admitted() const { return outcome != QuotaOutcome::kBlock; }
};

// "BLOCK HARD_QUOTA_EXCEEDED quota=rsq_1 gpus usage=8 requested=4 limit=8".
std::string NodeAdmissionToString(const NodeAdmission& admission);

// The usage of one scope: the running nodes and the live reservations.
struct ResourceUsage {
  int64_t cpus = 0;
  int64_t gpus = 0;
  int64_t instances = 0;
  // Canonical type -> count, sorted by type; types at 0 are omitted.
  std::vector<std::pair<std::string, int64_t>> accelerators;
};

struct QuotaAccountantOptions {
  // Drives reservation expiry. nullptr (default) means Clock::System().
  std::shared_ptr<const Clock> clock;
  // A reservation neither committed nor released within this time is
  // released by the accountant, so that a caller that crashed between
  // AdmitNode and Commit does not hold capacity forever. Default 10 minutes
  // (a cloud instance may take minutes to boot).
  absl::Duration reservation_ttl = absl::Minutes(10);
  // Reservations outstanding at once; the slots are allocated up front
  // (64 bytes each). When all are held, AdmitNode expires overdue ones and,
  // failing that, blocks kTooManyReservations. Default 16,384 (1 MiB).
  size_t max_reservations = 1 << 14;
};

// The usage of every scope, and admission against a QuotaBook.
//
// Usage is kept per scope, for the four scopes of each node: (cloud),
// (cloud, project), (cloud, creator) and (cloud, project, creator), whether
// or not a quota names them. A quota's usage is its scope's usage, so any
// book (older, newer, with quotas added or edited) reads the right numbers.
//
// Thread safety: every method may be called concurrently. AdmitNode and the
// node events take no accountant-wide lock: they find the node's scope
// record in a lock-free table and lock the node's four scope records, always
// in the same order, for the few instructions of the check and update. They
// allocate nothing, except the first time a (cloud, project, creator) or an
// accelerator type is seen in a scope (the record is created under a short
// insertion lock). Concurrent admissions never admit past a hard quota: the
// check and the update happen under the locks of every scope that carries an
// applicable quota. See docs/quotas.md, "Concurrency".
class QuotaAccountant {
 public:
  explicit QuotaAccountant(QuotaAccountantOptions options = {});
  QuotaAccountant(const QuotaAccountant&) = delete;
  QuotaAccountant& operator=(const QuotaAccountant&) = delete;
  ~QuotaAccountant();

  // Admits `node` against the enforced quotas of `book` that apply to it.
  // Every applicable quota counts; a node is blocked if it would pass any
  // hard quota in any dimension (usage + node > limit), admitted with an
  // alert if it would pass only soft quotas. Reaching a limit exactly is
  // allowed. When admitted, the node's resources are counted at once and
  // held by `reservation`: Commit it when the node runs, Release it if it
  // never starts; it expires after options.reservation_ttl otherwise. When
  // the answer would be anything but a plain admit, overdue reservations are
  // expired first. Cost: a few hash probes and four short locks.
  NodeAdmission AdmitNode(const QuotaBook& book, const Node& node);

  // The same decision without reserving anything (reservation is 0). Like
  // AdmitNode it may expire overdue reservations and create the node's scope
  // records (usage is unchanged): "const" means the counted usage.
  NodeAdmission CheckNode(const QuotaBook& book, const Node& node) const;

  // The node of `reservation` is running: its usage stays counted until
  // NodeStopped. NotFound if the reservation is unknown, was already
  // committed or released, or expired (its capacity is then no longer held:
  // report the node with NodeStarted if it runs anyway).
  absl::Status Commit(uint64_t reservation);
  // The node of `reservation` will not start: its usage is removed. NotFound
  // as for Commit. A reservation is released at most once.
  absl::Status Release(uint64_t reservation);

  // Releases every reservation whose deadline has passed on the clock.
  // Returns how many. Cost: linear in max_reservations; AdmitNode calls it
  // when it would not plainly admit and a deadline has passed.
  size_t ExpireReservations();

  // A node that started without AdmitNode (an existing cluster, a replayed
  // usage file): counted unconditionally, never refused by a quota (running
  // nodes are never terminated). InvalidArgument for a negative amount or a
  // missing id.
  absl::Status NodeStarted(const Node& node);
  // A running node stopped. FailedPrecondition, and nothing changes, if its
  // (cloud, project, creator) does not run that much (a stop without a
  // start).
  absl::Status NodeStopped(const Node& node);

  // The usage of a scope (running nodes plus live reservations).
  // `project_id` and `creator_id` may be empty, meaning every project and
  // every creator of the cloud.
  ResourceUsage Usage(absl::string_view cloud_id, absl::string_view project_id,
                      absl::string_view creator_id) const;

  // Live reservations (admitted, neither committed, released nor expired).
  size_t num_reservations() const;

 private:
  std::unique_ptr<internal::AccountantState> state_;
};

// ---------------------------------------------------------------------------
// Budgets
// ---------------------------------------------------------------------------

// Credits spent in a cloud (and project) at an instant. Views must outlive
// the call.
struct SpendEvent {
  absl::string_view cloud_id;
  // Empty: spend of the cloud outside any project; it counts toward the
  // organization's and the cloud's budgets only.
  absl::string_view project_id;
  double credits = 0;
  absl::Time time;
};

// A budget threshold crossed, once per budget, period and threshold. Owns
// its strings: the sink may keep it.
struct BudgetAlert {
  std::string budget_id;
  std::string budget_name;
  std::string org_id;
  std::string cloud_id;    // empty for an organization-wide budget
  std::string project_id;  // empty for an organization or cloud budget
  v1::BudgetPeriod period = v1::BUDGET_PERIOD_UNSPECIFIED;
  absl::Time period_start;  // 00:00 UTC of the day, or of the 1st
  double threshold_percent = 0;
  double amount_credits = 0;
  double spend_credits = 0;  // in the period, when the threshold was crossed
  std::vector<std::string> recipients;
  uint64_t revision = 0;  // of the book that defined the budget
};

// Receives alerts. Called on the thread that recorded the spend (or called
// Evaluate), never with a tracker lock held; must be thread-safe. Emitting is
// all the library does: sending notifications is the caller's business.
using BudgetAlertSink = std::function<void(const BudgetAlert&)>;

// How a budget stands in its current period.
struct BudgetStanding {
  uint32_t budget_index = 0;  // into QuotaBook::budgets()
  absl::string_view budget_id;
  v1::BudgetPeriod period = v1::BUDGET_PERIOD_UNSPECIFIED;
  absl::Time period_start;
  double spend_credits = 0;
  double amount_credits = 0;
  double percent = 0;  // spend / amount * 100
  bool over = false;   // spend >= amount
};

struct BudgetTrackerOptions {
  // "Now" for Standing() and Evaluate(). nullptr (default) means
  // Clock::System().
  std::shared_ptr<const Clock> clock;
};

// Spend per organization, cloud and project, per UTC day and month, and the
// budget thresholds it crosses.
//
// Spend is kept per scope and calendar period, whatever the budgets: a
// budget created mid-month counts the month from the 1st, one created
// mid-day counts the day from 00:00 UTC. Each threshold of an enabled,
// non-deleted budget fires at most once per period (keyed by budget id,
// period and threshold percent, so editing a budget's amount does not re-arm
// thresholds already fired in the period), in periods that end after the
// budget's created_at.
//
// Thread safety: every method may be called concurrently; they serialize on
// one tracker mutex (spend arrives at billing granularity, not per node).
// The sink runs after the mutex is released.
class BudgetTracker {
 public:
  explicit BudgetTracker(BudgetAlertSink sink,
                         BudgetTrackerOptions options = {});
  BudgetTracker(const BudgetTracker&) = delete;
  BudgetTracker& operator=(const BudgetTracker&) = delete;
  ~BudgetTracker();

  // Adds `event` to the day and month of its time, for its organization,
  // cloud and project, and fires the thresholds of `book`'s budgets that it
  // crosses in those periods. NotFound for a cloud (or project) `book` does
  // not know, FailedPrecondition for a project of another cloud,
  // InvalidArgument for a negative or non-finite amount; nothing is recorded
  // then. Amounts are kept in micro-credits (rounded to the nearest).
  absl::Status RecordSpend(const QuotaBook& book, const SpendEvent& event);

  // Fires every threshold of `book`'s budgets already crossed in the current
  // periods: call it after installing a new book (a budget created, lowered
  // or enabled mid-period). Returns the number of alerts emitted.
  size_t Evaluate(const QuotaBook& book);

  // Credits spent in a scope during the period containing `at` (day or
  // month). Empty `project_id` means every project of the cloud, empty
  // `cloud_id` every cloud of `org_id`.
  double Spend(absl::string_view org_id, absl::string_view cloud_id,
               absl::string_view project_id, v1::BudgetPeriod period,
               absl::Time at) const;

  // The standing of every enforced budget covering (cloud_id, project_id)
  // in its current period, most consumed first; empty for an unknown scope.
  std::vector<BudgetStanding> Standing(const QuotaBook& book,
                                       absl::string_view cloud_id,
                                       absl::string_view project_id) const;

  // The most consumed of them, without allocating; false if none applies.
  bool MostConsumed(const QuotaBook& book, absl::string_view cloud_id,
                    absl::string_view project_id, BudgetStanding* out) const;

 private:
  absl::Time Now() const;
  BudgetAlertSink sink_;
  BudgetTrackerOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<internal::SpendLedger> ledger_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// Admit: one decision for a workload launch
// ---------------------------------------------------------------------------

// The launch. Views must outlive the call.
struct LaunchRequest {
  // The launching principal: an id or an email.
  absl::string_view principal;
  // Optional organization id or name (binds every name, as in
  // AccessRequest::org).
  absl::string_view org;
  // Cloud id or name; project id or name within the cloud (empty: the
  // cloud's default project).
  absl::string_view cloud;
  absl::string_view project;
  v1::WorkloadType type = v1::WORKLOAD_TYPE_UNSPECIFIED;
  // Optional compute config, whose IAM identity may override the mapping.
  absl::string_view compute_config;
  Channel channel = Channel::kApi;
  // The head node (its ids are filled in from the launch).
  int64_t head_cpus = 0;
  int64_t head_gpus = 0;
  absl::string_view head_accelerator_type;
  int64_t head_accelerators = 0;
  // Reserve the head node's capacity when admitted (LaunchDecision::
  // quota.reservation). false: decide only.
  bool reserve = true;
};

enum class LaunchOutcome : uint8_t { kAdmit, kAdmitWithAlert, kBlock };

// Which part decided a block (or kNone).
enum class LaunchBlocker : uint8_t {
  kNone,
  kRequest,   // the launch does not resolve (unknown cloud, project, user)
  kRbac,      // Engine::Check denied the permission
  kIam,       // Engine::ResolveIam answered FAIL
  kQuota,     // the head node passes a hard quota (or is invalid)
  kState,     // the Engine and the QuotaBook come from different revisions
  kInternal,  // a missing Engine, QuotaBook or QuotaAccountant
};

// "ADMIT", "ADMIT_WITH_ALERT", "BLOCK"; "NONE", "REQUEST", "RBAC", ...
absl::string_view LaunchOutcomeName(LaunchOutcome outcome);
absl::string_view LaunchBlockerName(LaunchBlocker blocker);

// What Admit decided, part by part. Views point into the Engine and the
// QuotaBook: valid while they are alive.
struct LaunchDecision {
  LaunchOutcome outcome = LaunchOutcome::kBlock;
  LaunchBlocker blocker = LaunchBlocker::kInternal;
  // Why the launch did not resolve (kRequest), e.g. "unknown cloud \"x\"".
  std::string request_error;
  // The resolved launch.
  ScopeIds scope;
  // The permission checked and the RBAC decision.
  absl::string_view permission;
  Decision rbac;
  // The cloud identity (kFail blocks).
  IamDecision iam;
  // The head node against the quotas (decided without reserving when RBAC
  // or IAM already blocked).
  NodeAdmission quota;
  // The most consumed applicable budget; informational (over budget is an
  // alert, never a block). has_budget false when none applies or no tracker
  // was given.
  bool has_budget = false;
  BudgetStanding budget;
  uint64_t revision = 0;

  bool admitted() const { return outcome != LaunchOutcome::kBlock; }
  // One line per part:
  //   BLOCK (quota)
  //     rbac:   ALLOW GRANT grant=g_dave_prod ... (project.workload.create)
  //     iam:    MAPPED ml-role RULE_MATCHED rule=1
  //     quota:  BLOCK HARD_QUOTA_EXCEEDED quota=rsq_ml gpus usage=8 ...
  //     budget: prj_ml_monthly MONTHLY 812.5 of 1000 credits (81.2%)
  std::string ToString() const;
};

// What Admit decides with. engine, book and accountant are required;
// budgets is optional.
struct AdmissionContext {
  const Engine* engine = nullptr;
  const QuotaBook* book = nullptr;
  QuotaAccountant* accountant = nullptr;
  const BudgetTracker* budgets = nullptr;
};

// The permission Admit checks: the Anyscale profile grants every workload
// kind's creation with one permission.
inline constexpr absl::string_view kWorkloadCreatePermission =
    "project.workload.create";

// One decision for a workload launch (access-model §4.1 rule 9): RBAC first
// (may the principal create workloads in the project), then the non-RBAC
// gates: the cloud identity (an IAM FAIL blocks), the head node against the
// quotas (a hard quota blocks; a soft one alerts), and the budgets (over
// budget alerts, never blocks). Every part is evaluated and reported; the
// head node's capacity is reserved only when RBAC and IAM allow. Fails
// closed: an unknown name, a missing component, or an Engine and a
// QuotaBook of different revisions block with the reason. Never throws;
// allocates only for LaunchDecision::request_error.
LaunchDecision Admit(const AdmissionContext& context,
                     const LaunchRequest& launch);

}  // namespace arbiter

#endif  // ARBITER_QUOTA_H_
