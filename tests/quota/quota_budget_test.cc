// The budget rules of access-model §8.1, one test each: UTC periods (month
// ends, leap days, daily reset at 00:00 UTC), budgets created mid-period,
// thresholds firing once per period, scopes aggregating all spend in them.

#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/quota/book_data.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::quota_testing::AddBudget;
using ::arbiter::quota_testing::BaseState;
using ::arbiter::quota_testing::MakeBook;
using ::arbiter::quota_testing::Utc;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "budget@percent period-start" for each alert, in order.
class BudgetTest : public ::testing::Test {
 protected:
  BudgetTest()
      : clock_(std::make_shared<FakeClock>(Utc(2026, 3, 15, 12))),
        tracker_([this](const BudgetAlert& a) { Record(a); }, Options()) {}

  BudgetTrackerOptions Options() {
    BudgetTrackerOptions o;
    o.clock = clock_;
    return o;
  }

  void Record(const BudgetAlert& a) {
    std::lock_guard<std::mutex> lock(mu_);
    alerts_.push_back(absl::StrCat(
        a.budget_id, "@", a.threshold_percent, " ",
        absl::FormatTime("%Y-%m-%d", a.period_start, absl::UTCTimeZone())));
    last_ = a;
  }

  std::vector<std::string> TakeAlerts() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    out.swap(alerts_);
    return out;
  }

  void Spend(const QuotaBook& book, absl::string_view cloud,
             absl::string_view project, double credits, absl::Time at) {
    SpendEvent e;
    e.cloud_id = cloud;
    e.project_id = project;
    e.credits = credits;
    e.time = at;
    ASSERT_THAT(tracker_.RecordSpend(book, e), IsOk());
  }

  std::shared_ptr<FakeClock> clock_;
  std::mutex mu_;
  std::vector<std::string> alerts_;
  BudgetAlert last_;
  BudgetTracker tracker_;
};

// Monthly budgets reset on the 1st at 00:00 UTC; the last second of a month
// belongs to it, including February 29 of a leap year.
TEST_F(BudgetTest, MonthlyPeriodsAtMonthEndsAndLeapDays) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "bm"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 100
                     thresholds_percent: 100
                     enabled: true)pb");
  auto book = MakeBook(s);
  Spend(*book, "cld_a", "", 60, Utc(2028, 2, 29, 23, 59, 59));
  Spend(*book, "cld_a", "", 60, Utc(2028, 3, 1, 0, 0, 0));
  EXPECT_THAT(TakeAlerts(), IsEmpty());  // 60 in February, 60 in March
  Spend(*book, "cld_a", "", 40, Utc(2028, 2, 1, 0, 0, 0));
  EXPECT_THAT(TakeAlerts(), ElementsAre("bm@100 2028-02-01"));
  EXPECT_EQ(tracker_.Spend("org_1", "cld_a", "", v1::BUDGET_PERIOD_MONTHLY,
                           Utc(2028, 2, 29, 12)),
            100);
  EXPECT_EQ(tracker_.Spend("org_1", "cld_a", "", v1::BUDGET_PERIOD_MONTHLY,
                           Utc(2028, 3, 31, 23, 59, 59)),
            60);
  // December to January crosses a year.
  Spend(*book, "cld_a", "", 99, Utc(2027, 12, 31, 23, 59, 59));
  Spend(*book, "cld_a", "", 99, Utc(2028, 1, 1));
  EXPECT_THAT(TakeAlerts(), IsEmpty());
  EXPECT_EQ(tracker_.Spend("org_1", "cld_a", "", v1::BUDGET_PERIOD_MONTHLY,
                           Utc(2027, 12, 1)),
            99);
}

// Daily budgets reset at 00:00 UTC (not at local midnight, not 24 h after
// the first spend).
TEST_F(BudgetTest, DailyResetsAtMidnightUtc) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "bd"
                     cloud_id: "cld_a"
                     project_id: "prj_a1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 10
                     thresholds_percent: [ 50, 100 ]
                     enabled: true)pb");
  auto book = MakeBook(s);
  Spend(*book, "cld_a", "prj_a1", 9, Utc(2026, 3, 15, 23, 59, 59));
  EXPECT_THAT(TakeAlerts(), ElementsAre("bd@50 2026-03-15"));
  Spend(*book, "cld_a", "prj_a1", 9, Utc(2026, 3, 16, 0, 0, 0));
  EXPECT_THAT(TakeAlerts(), ElementsAre("bd@50 2026-03-16"));
  Spend(*book, "cld_a", "prj_a1", 1, Utc(2026, 3, 15, 8));
  EXPECT_THAT(TakeAlerts(), ElementsAre("bd@100 2026-03-15"));
  EXPECT_EQ(tracker_.Spend("", "", "prj_a1", v1::BUDGET_PERIOD_DAILY,
                           Utc(2026, 3, 16, 23)),
            9);
  // A leap day is a day of its own.
  Spend(*book, "cld_a", "prj_a1", 10, Utc(2028, 2, 29, 12));
  EXPECT_THAT(TakeAlerts(),
              ElementsAre("bd@50 2028-02-29", "bd@100 2028-02-29"));
  EXPECT_EQ(tracker_.Spend("", "", "prj_a1", v1::BUDGET_PERIOD_DAILY,
                           Utc(2028, 3, 1)),
            0);
}

// A monthly budget created mid-month counts the month from the 1st; a daily
// budget created mid-day counts that day's earlier spend.
TEST_F(BudgetTest, BudgetsCreatedMidPeriodCountTheWholePeriod) {
  v1::PolicySet s = BaseState();
  auto none = MakeBook(s);
  Spend(*none, "cld_a", "prj_a1", 70, Utc(2026, 1, 2));
  Spend(*none, "cld_a", "prj_a1", 5, Utc(2026, 1, 15, 1));
  AddBudget(&s,
            R"pb(id: "bm"
                 cloud_id: "cld_a"
                 period: BUDGET_PERIOD_MONTHLY
                 amount_credits: 100
                 thresholds_percent: [ 50, 80 ]
                 enabled: true
                 created_at { seconds: 1768478400 })pb");  // 2026-01-15T12:00Z
  AddBudget(&s, R"pb(id: "bd"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 10
                     thresholds_percent: [ 50 ]
                     enabled: true
                     created_at { seconds: 1768478400 })pb");
  auto book = MakeBook(s);
  clock_->Set(Utc(2026, 1, 15, 12));
  EXPECT_EQ(tracker_.Evaluate(*book), 2u);
  EXPECT_THAT(TakeAlerts(),
              ElementsAre("bm@50 2026-01-01", "bd@50 2026-01-15"));
  Spend(*book, "cld_a", "", 5, Utc(2026, 1, 20));
  EXPECT_THAT(TakeAlerts(),
              ElementsAre("bd@50 2026-01-20", "bm@80 2026-01-01"));
  EXPECT_EQ(last_.spend_credits, 80);
  EXPECT_EQ(last_.amount_credits, 100);
  // A late event for a period that ended before the budget existed does not
  // alert.
  Spend(*book, "cld_a", "", 50, Utc(2025, 12, 31));
  Spend(*book, "cld_a", "", 50, Utc(2025, 12, 31));
  EXPECT_THAT(TakeAlerts(), IsEmpty());
}

// Each threshold fires at most once per period per budget, and again in the
// next period.
TEST_F(BudgetTest, ThresholdsFireOncePerPeriod) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "bm"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 100
                     thresholds_percent: [ 100, 50 ]
                     recipients: [ "fin@acme.com" ]
                     enabled: true)pb");
  auto book = MakeBook(s);
  for (int i = 0; i < 30; ++i)
    Spend(*book, "cld_b", "", 10, Utc(2026, 4, 1 + i % 28));
  EXPECT_THAT(TakeAlerts(),
              ElementsAre("bm@50 2026-04-01", "bm@100 2026-04-01"));
  EXPECT_EQ(last_.recipients, std::vector<std::string>{"fin@acme.com"});
  EXPECT_EQ(last_.org_id, "org_1");
  EXPECT_EQ(last_.cloud_id, "");
  EXPECT_EQ(tracker_.Evaluate(*book), 0u);
  // One event crossing both thresholds at once fires both, once.
  Spend(*book, "cld_a", "prj_a2", 250, Utc(2026, 5, 3));
  EXPECT_THAT(TakeAlerts(),
              ElementsAre("bm@50 2026-05-01", "bm@100 2026-05-01"));
  // Reinstalling the same budget (a new book) does not re-arm them.
  auto again = MakeBook(s);
  Spend(*again, "cld_a", "", 1, Utc(2026, 5, 4));
  clock_->Set(Utc(2026, 5, 10));
  EXPECT_EQ(tracker_.Evaluate(*again), 0u);
  EXPECT_THAT(TakeAlerts(), IsEmpty());
}

// Budgets never block, and disabled or deleted budgets stay silent.
TEST_F(BudgetTest, DisabledAndDeletedBudgetsAreSilent) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "off"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 1)pb");
  AddBudget(&s, R"pb(id: "gone"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 1
                     enabled: true
                     deleted_at { seconds: 5 })pb");
  auto book = MakeBook(s);
  EXPECT_EQ(book->num_enforced_budgets(), 0u);
  Spend(*book, "cld_a", "", 50, Utc(2026, 3, 15));
  EXPECT_THAT(TakeAlerts(), IsEmpty());
  EXPECT_TRUE(tracker_.Standing(*book, "cld_a", "").empty());
  // Enabling it mid-day: Evaluate fires on the spend already recorded.
  s.mutable_budgets(0)->set_enabled(true);
  auto enabled = MakeBook(s);
  EXPECT_EQ(tracker_.Evaluate(*enabled), 1u);
  EXPECT_THAT(TakeAlerts(), ElementsAre("off@100 2026-03-15"));
}

// Org-wide, cloud and project budgets each aggregate all spend in their
// scope.
TEST_F(BudgetTest, ScopesAggregateAllSpendInScope) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "org"
                     org_id: "org_1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 100
                     enabled: true)pb");
  AddBudget(&s, R"pb(id: "cloud"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 60
                     enabled: true)pb");
  AddBudget(&s, R"pb(id: "proj"
                     cloud_id: "cld_a"
                     project_id: "prj_a1"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 30
                     enabled: true)pb");
  auto book = MakeBook(s);
  const absl::Time t = Utc(2026, 3, 15, 9);
  Spend(*book, "cld_a", "prj_a1", 30, t);
  EXPECT_THAT(TakeAlerts(), ElementsAre("proj@100 2026-03-15"));
  Spend(*book, "cld_a", "prj_a2", 20, t);
  Spend(*book, "cld_a", "", 10, t);  // cloud spend outside projects
  EXPECT_THAT(TakeAlerts(), ElementsAre("cloud@100 2026-03-15"));
  Spend(*book, "cld_b", "prj_b1", 40, t);
  EXPECT_THAT(TakeAlerts(), ElementsAre("org@100 2026-03-15"));
  Spend(*book, "cld_x", "", 1000, t);  // another organization
  EXPECT_THAT(TakeAlerts(), IsEmpty());
  EXPECT_EQ(tracker_.Spend("org_1", "", "", v1::BUDGET_PERIOD_DAILY, t), 100);
  EXPECT_EQ(tracker_.Spend("org_1", "cld_a", "", v1::BUDGET_PERIOD_DAILY, t),
            60);
  EXPECT_EQ(tracker_.Spend("org_2", "", "", v1::BUDGET_PERIOD_DAILY, t), 1000);
  std::vector<BudgetStanding> standing =
      tracker_.Standing(*book, "cld_a", "prj_a1");
  ASSERT_EQ(standing.size(), 3u);
  for (const BudgetStanding& b : standing) EXPECT_TRUE(b.over) << b.budget_id;
  EXPECT_EQ(tracker_.Standing(*book, "cld_b", "prj_b1").size(), 1u);
}

TEST_F(BudgetTest, SpendIsValidated) {
  auto book = MakeBook(BaseState());
  SpendEvent e;
  e.cloud_id = "cld_9";
  e.credits = 1;
  e.time = Utc(2026, 1, 1);
  EXPECT_THAT(tracker_.RecordSpend(*book, e),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  e.cloud_id = "cld_a";
  e.project_id = "prj_b1";
  EXPECT_THAT(tracker_.RecordSpend(*book, e),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  e.project_id = "";
  e.credits = -1;
  EXPECT_THAT(tracker_.RecordSpend(*book, e),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  e.credits = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(tracker_.RecordSpend(*book, e),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_EQ(tracker_.Spend("org_1", "", "", v1::BUDGET_PERIOD_MONTHLY,
                           Utc(2026, 1, 1)),
            0);
}

// Amounts are summed in micro-credits: the order of events does not change
// the total (0.1 + 0.2 is exactly 0.3).
TEST_F(BudgetTest, SumsAreExact) {
  v1::PolicySet s = BaseState();
  AddBudget(&s, R"pb(id: "b"
                     cloud_id: "cld_a"
                     period: BUDGET_PERIOD_DAILY
                     amount_credits: 0.3
                     enabled: true)pb");
  auto book = MakeBook(s);
  Spend(*book, "cld_a", "", 0.1, Utc(2026, 3, 15));
  Spend(*book, "cld_a", "", 0.2, Utc(2026, 3, 15));
  EXPECT_THAT(TakeAlerts(), ElementsAre("b@100 2026-03-15"));
}

// The period arithmetic (days since the epoch, no time-zone library) agrees
// with absl's civil time for every day from 1600 to 2400 and instants
// around each midnight, before and after 1970.
TEST(BudgetPeriodTest, PeriodStartsMatchCivilTime) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  for (absl::CivilDay day(1600, 1, 1); day < absl::CivilDay(2400, 1, 1);
       ++day) {
    const int64_t midnight = absl::ToUnixSeconds(absl::FromCivil(day, utc));
    const int64_t month =
        absl::ToUnixSeconds(absl::FromCivil(absl::CivilMonth(day), utc));
    const int64_t next_month =
        absl::ToUnixSeconds(absl::FromCivil(absl::CivilMonth(day) + 1, utc));
    for (int64_t t : {midnight, midnight + 1, midnight + 86399}) {
      ASSERT_EQ(internal::PeriodStart(v1::BUDGET_PERIOD_DAILY, t), midnight)
          << day;
      ASSERT_EQ(internal::PeriodStart(v1::BUDGET_PERIOD_MONTHLY, t), month)
          << day;
    }
    ASSERT_EQ(internal::NextPeriodStart(v1::BUDGET_PERIOD_DAILY, midnight),
              midnight + 86400);
    ASSERT_EQ(internal::NextPeriodStart(v1::BUDGET_PERIOD_MONTHLY, month),
              next_month)
        << day;
  }
}

}  // namespace
}  // namespace arbiter
