// BudgetTracker: spend per scope and UTC period, threshold alerts
// (access-model §8.1).
//
// Spend is kept per (scope, period, period start) whatever the budgets, so
// a budget created, edited or re-enabled mid-period reads the whole period.
// Scopes are keyed by id: an organization, a cloud or a project (ids are
// unique across the state). Amounts are integers (micro-credits), so sums
// do not depend on the order of events.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "arbiter/quota.h"
#include "src/internal/names.h"
#include "src/quota/book_data.h"

namespace arbiter {
namespace internal {
namespace {

enum ScopeKind : uint8_t { kOrgScope = 0, kCloudScope = 1, kProjectScope = 2 };

struct SpendKeyView {
  uint8_t kind;
  absl::string_view id;
  uint8_t period;
  int64_t start;
};

struct SpendKey {
  uint8_t kind;
  std::string id;
  uint8_t period;
  int64_t start;
};

struct SpendKeyHash {
  using is_transparent = void;
  size_t operator()(const SpendKeyView& k) const {
    return absl::Hash<
        std::tuple<uint8_t, absl::string_view, uint8_t, int64_t>>()(
        std::make_tuple(k.kind, k.id, k.period, k.start));
  }
  size_t operator()(const SpendKey& k) const {
    return (*this)(SpendKeyView{k.kind, k.id, k.period, k.start});
  }
};

struct SpendKeyEq {
  using is_transparent = void;
  static SpendKeyView View(const SpendKeyView& k) { return k; }
  static SpendKeyView View(const SpendKey& k) {
    return {k.kind, k.id, k.period, k.start};
  }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    const SpendKeyView x = View(a), y = View(b);
    return x.kind == y.kind && x.period == y.period && x.start == y.start &&
           x.id == y.id;
  }
};

}  // namespace

struct SpendLedger {
  absl::flat_hash_map<SpendKey, int64_t, SpendKeyHash, SpendKeyEq> spend;
  // (budget id, period start, threshold percent) already fired.
  absl::flat_hash_set<std::tuple<std::string, int64_t, double>> fired;

  int64_t Get(uint8_t kind, absl::string_view id, v1::BudgetPeriod period,
              int64_t start) const {
    auto it =
        spend.find(SpendKeyView{kind, id, static_cast<uint8_t>(period), start});
    return it == spend.end() ? 0 : it->second;
  }
  void Add(uint8_t kind, absl::string_view id, v1::BudgetPeriod period,
           int64_t start, int64_t micro) {
    const SpendKeyView view{kind, id, static_cast<uint8_t>(period), start};
    auto it = spend.find(view);
    if (it == spend.end()) {
      it = spend
               .emplace(SpendKey{kind, std::string(id),
                                 static_cast<uint8_t>(period), start},
                        0)
               .first;
    }
    // Saturate rather than wrap (a runaway total is still "over").
    it->second =
        micro > INT64_MAX - it->second ? INT64_MAX : it->second + micro;
  }
};

namespace {

// The spend-scope of a compiled budget.
std::pair<uint8_t, absl::string_view> BudgetScope(const QuotaBookData& book,
                                                  const CompiledBudget& b) {
  if (b.project != kNoIndex)
    return {kProjectScope, book.projects[b.project].id};
  if (b.cloud != kNoIndex) return {kCloudScope, book.clouds[b.cloud].id};
  return {kOrgScope, book.orgs[b.org].id};
}

BudgetAlert MakeAlert(const QuotaBook& qb, const QuotaBookData& book,
                      const CompiledBudget& b, int64_t start,
                      const CompiledThreshold& t, int64_t spend) {
  const v1::Budget& proto = book.budgets[b.index];
  BudgetAlert a;
  a.budget_id = proto.id();
  a.budget_name = proto.name();
  a.org_id = book.orgs[b.org].id;
  if (b.cloud != kNoIndex) a.cloud_id = book.clouds[b.cloud].id;
  if (b.project != kNoIndex) a.project_id = book.projects[b.project].id;
  a.period = b.period;
  a.period_start = absl::FromUnixSeconds(start);
  a.threshold_percent = t.percent;
  a.amount_credits = proto.amount_credits();
  a.spend_credits = FromMicroCredits(spend);
  a.recipients.assign(proto.recipients().begin(), proto.recipients().end());
  a.revision = qb.revision();
  return a;
}

// Appends the alerts budget `b` owes for the period starting at `start`.
void Crossed(const QuotaBook& qb, const QuotaBookData& book,
             const CompiledBudget& b, int64_t start, SpendLedger& ledger,
             std::vector<BudgetAlert>* alerts) {
  // A budget alerts only for periods that end after it was created.
  if (NextPeriodStart(b.period, start) <= b.created_seconds) return;
  const auto [kind, id] = BudgetScope(book, b);
  const int64_t spend = ledger.Get(kind, id, b.period, start);
  for (const CompiledThreshold& t : b.thresholds) {
    if (spend < t.micro) break;  // ascending
    if (ledger.fired.emplace(book.budgets[b.index].id(), start, t.percent)
            .second) {
      alerts->push_back(MakeAlert(qb, book, b, start, t, spend));
    }
  }
}

BudgetStanding MakeStanding(const QuotaBookData& book, const CompiledBudget& b,
                            int64_t start, int64_t spend) {
  BudgetStanding s;
  s.budget_index = b.index;
  s.budget_id = book.budgets[b.index].id();
  s.period = b.period;
  s.period_start = absl::FromUnixSeconds(start);
  s.spend_credits = FromMicroCredits(spend);
  s.amount_credits = book.budgets[b.index].amount_credits();
  s.percent = b.amount_micro > 0 ? 100.0 * static_cast<double>(spend) /
                                       static_cast<double>(b.amount_micro)
                                 : 0;
  s.over = spend >= b.amount_micro;
  return s;
}

}  // namespace
}  // namespace internal

BudgetTracker::BudgetTracker(BudgetAlertSink sink, BudgetTrackerOptions options)
    : sink_(std::move(sink)),
      options_(std::move(options)),
      ledger_(std::make_unique<internal::SpendLedger>()) {}
BudgetTracker::~BudgetTracker() = default;

absl::Time BudgetTracker::Now() const {
  return options_.clock != nullptr ? options_.clock->Now()
                                   : Clock::System().Now();
}

absl::Status BudgetTracker::RecordSpend(const QuotaBook& book,
                                        const SpendEvent& event) {
  using internal::kNoIndex;
  using internal::Quote;
  const internal::QuotaBookData& data = QuotaBookAccess::Data(book);
  if (!std::isfinite(event.credits) || event.credits < 0 ||
      event.credits > 1e12) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spend: credits must be in [0, 1e12] (got ", event.credits, ")"));
  }
  if (event.time == absl::InfiniteFuture() ||
      event.time == absl::InfinitePast()) {
    return absl::InvalidArgumentError("spend: time must be finite");
  }
  const auto c = data.cloud_by_id.find(event.cloud_id);
  if (c == data.cloud_by_id.end()) {
    return absl::NotFoundError(
        absl::StrCat("spend: unknown cloud ", Quote(event.cloud_id)));
  }
  const uint32_t cloud_index = c->second.index;
  const internal::CloudInfo& cloud = data.clouds[cloud_index];
  if (cloud.org == kNoIndex) {
    return absl::FailedPreconditionError(
        absl::StrCat("spend: cloud ", Quote(cloud.id), " has no organization"));
  }
  uint32_t project = kNoIndex;
  if (!event.project_id.empty()) {
    const auto p = data.project_by_id.find(event.project_id);
    if (p == data.project_by_id.end()) {
      return absl::NotFoundError(
          absl::StrCat("spend: unknown project ", Quote(event.project_id)));
    }
    if (p->second.parent != cloud_index) {
      return absl::FailedPreconditionError(
          absl::StrCat("spend: project ", Quote(event.project_id),
                       " is not in cloud ", Quote(cloud.id)));
    }
    project = p->second.index;
  }
  const int64_t micro = internal::ToMicroCredits(event.credits);
  const int64_t seconds = absl::ToUnixSeconds(event.time);
  uint32_t budgets[6];
  const int num_budgets =
      internal::FindBudgets(data, cloud_index, project, budgets);
  std::vector<BudgetAlert> alerts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (v1::BudgetPeriod period :
         {v1::BUDGET_PERIOD_DAILY, v1::BUDGET_PERIOD_MONTHLY}) {
      const int64_t start = internal::PeriodStart(period, seconds);
      ledger_->Add(internal::kOrgScope, data.orgs[cloud.org].id, period, start,
                   micro);
      ledger_->Add(internal::kCloudScope, cloud.id, period, start, micro);
      if (project != kNoIndex) {
        ledger_->Add(internal::kProjectScope, data.projects[project].id, period,
                     start, micro);
      }
      for (int i = 0; i < num_budgets; ++i) {
        const internal::CompiledBudget& b = data.compiled_budgets[budgets[i]];
        if (b.period != period) continue;
        internal::Crossed(book, data, b, start, *ledger_, &alerts);
      }
    }
  }
  if (sink_) {
    for (const BudgetAlert& a : alerts) sink_(a);
  }
  return absl::OkStatus();
}

size_t BudgetTracker::Evaluate(const QuotaBook& book) {
  const internal::QuotaBookData& data = QuotaBookAccess::Data(book);
  const int64_t now = absl::ToUnixSeconds(Now());
  std::vector<BudgetAlert> alerts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const internal::CompiledBudget& b : data.compiled_budgets) {
      internal::Crossed(book, data, b, internal::PeriodStart(b.period, now),
                        *ledger_, &alerts);
    }
  }
  if (sink_) {
    for (const BudgetAlert& a : alerts) sink_(a);
  }
  return alerts.size();
}

double BudgetTracker::Spend(absl::string_view org_id,
                            absl::string_view cloud_id,
                            absl::string_view project_id,
                            v1::BudgetPeriod period, absl::Time at) const {
  if (period != v1::BUDGET_PERIOD_DAILY && period != v1::BUDGET_PERIOD_MONTHLY)
    return 0;
  const int64_t start = internal::PeriodStart(period, absl::ToUnixSeconds(at));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t micro;
  if (!project_id.empty()) {
    micro = ledger_->Get(internal::kProjectScope, project_id, period, start);
  } else if (!cloud_id.empty()) {
    micro = ledger_->Get(internal::kCloudScope, cloud_id, period, start);
  } else {
    micro = ledger_->Get(internal::kOrgScope, org_id, period, start);
  }
  return internal::FromMicroCredits(micro);
}

namespace {

// The compiled budgets covering (cloud_id, project_id); false if the scope
// does not resolve.
bool CoveringBudgets(const internal::QuotaBookData& data,
                     absl::string_view cloud_id, absl::string_view project_id,
                     uint32_t out[6], int* n) {
  *n = 0;
  const auto c = data.cloud_by_id.find(cloud_id);
  if (c == data.cloud_by_id.end() || c->second.parent == internal::kNoIndex) {
    return false;
  }
  uint32_t p = internal::kNoIndex;
  if (!project_id.empty()) {
    const auto it = data.project_by_id.find(project_id);
    if (it == data.project_by_id.end() ||
        it->second.parent != c->second.index) {
      return false;
    }
    p = it->second.index;
  }
  *n = internal::FindBudgets(data, c->second.index, p, out);
  return true;
}

}  // namespace

std::vector<BudgetStanding> BudgetTracker::Standing(
    const QuotaBook& book, absl::string_view cloud_id,
    absl::string_view project_id) const {
  const internal::QuotaBookData& data = QuotaBookAccess::Data(book);
  std::vector<BudgetStanding> out;
  uint32_t budgets[6];
  int n = 0;
  if (!CoveringBudgets(data, cloud_id, project_id, budgets, &n)) return out;
  const int64_t now = absl::ToUnixSeconds(Now());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < n; ++i) {
      const internal::CompiledBudget& b = data.compiled_budgets[budgets[i]];
      const int64_t start = internal::PeriodStart(b.period, now);
      const auto [kind, id] = internal::BudgetScope(data, b);
      out.push_back(internal::MakeStanding(
          data, b, start, ledger_->Get(kind, id, b.period, start)));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const BudgetStanding& a, const BudgetStanding& b) {
                     return a.percent > b.percent;
                   });
  return out;
}

bool BudgetTracker::MostConsumed(const QuotaBook& book,
                                 absl::string_view cloud_id,
                                 absl::string_view project_id,
                                 BudgetStanding* out) const {
  const internal::QuotaBookData& data = QuotaBookAccess::Data(book);
  uint32_t budgets[6];
  int n = 0;
  if (!CoveringBudgets(data, cloud_id, project_id, budgets, &n) || n == 0) {
    return false;
  }
  const int64_t now = absl::ToUnixSeconds(Now());
  bool found = false;
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < n; ++i) {
    const internal::CompiledBudget& b = data.compiled_budgets[budgets[i]];
    const int64_t start = internal::PeriodStart(b.period, now);
    const auto [kind, id] = internal::BudgetScope(data, b);
    const BudgetStanding s = internal::MakeStanding(
        data, b, start, ledger_->Get(kind, id, b.period, start));
    if (!found || s.percent > out->percent) {
      *out = s;
      found = true;
    }
  }
  return found;
}

}  // namespace arbiter
