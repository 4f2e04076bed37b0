// A reference accountant written naively from access-model §7.2 and §7.3,
// and a reference budget tracker from §8.1, for the differential tests.
// Nothing is indexed or cached: every decision scans every quota of the
// state and sums every counted node; every budget figure scans every spend
// event.
//
//   §7.2  a quota applies to a node when it is enabled, not deleted, of the
//         node's cloud, and its project (user) is unset or the node's.
//   §7.3  usage of a quota = the CPUs, GPUs, accelerators (per type) and
//         instances (1 per node) of the counted nodes in its scope; a node
//         passes a quota when usage + node > limit in some limited
//         dimension; any hard quota passed blocks, else any soft one alerts.
//         Breaches report the first passed dimension (cpus, gpus, instances,
//         then accelerator types by name), hard quotas first, each group in
//         scope-shape order (cloud, project, user, project+user).
//   Reservations count until committed (then the node runs), released or
//   expired (deadline <= now). A decision that is not a plain admit first
//   expires overdue reservations and decides again.
//   §8.1  spend is summed per UTC day / month per scope; a threshold is
//         crossed when spend * 1e6 >= ceil(amount * 1e6 * percent / 100)
//         (micro-credits, amounts rounded to the nearest micro-credit); it
//         fires once per (budget, period, percent), in periods that end
//         after the budget's creation.

#ifndef ARBITER_TESTS_QUOTA_REFERENCE_ACCOUNTANT_H_
#define ARBITER_TESTS_QUOTA_REFERENCE_ACCOUNTANT_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {
namespace reference {

struct RefNode {
  std::string cloud, project, creator;
  int64_t cpus = 0, gpus = 0;
  std::string type;  // canonical; empty when accelerators == 0
  int64_t accelerators = 0;
};

struct RefBreach {
  std::string quota_id;
  bool hard = false;
  QuotaDimension dimension = QuotaDimension::kCpus;
  std::string type;
  int64_t usage = 0, requested = 0, limit = 0;
  bool operator==(const RefBreach& o) const {
    return std::tie(quota_id, hard, dimension, type, usage, requested, limit) ==
           std::tie(o.quota_id, o.hard, o.dimension, o.type, o.usage,
                    o.requested, o.limit);
  }
};

struct RefDecision {
  QuotaOutcome outcome = QuotaOutcome::kBlock;
  QuotaReason reason = QuotaReason::kInternalError;
  std::vector<std::string> applicable;  // quota ids, shape order
  std::vector<RefBreach> breaches;
};

class ReferenceAccountant {
 public:
  // `node` with a raw accelerator type (any case).
  RefDecision Decide(const v1::PolicySet& state, RefNode node, int64_t now,
                     bool reserve, int64_t ttl, uint64_t* reservation) {
    RefDecision d;
    *reservation = 0;
    d.reason = Resolve(state, node);
    if (d.reason != QuotaReason::kWithinQuota) return d;
    if (node.accelerators == 0) node.type.clear();
    node.type = absl::AsciiStrToUpper(node.type);
    std::vector<const v1::ResourceQuota*> quotas = Applicable(state, node);
    for (const auto* q : quotas) d.applicable.push_back(q->id());
    Evaluate(quotas, node, &d);
    if (d.outcome != QuotaOutcome::kAdmit) {
      ExpireOverdue(now);
      d.breaches.clear();
      Evaluate(quotas, node, &d);
    }
    if (reserve && d.outcome != QuotaOutcome::kBlock) {
      const uint64_t id = next_id_++;
      reservations_[id] = {node, now + ttl};
      *reservation = id;
    }
    return d;
  }

  bool Commit(uint64_t id) {
    auto it = reservations_.find(id);
    if (it == reservations_.end()) return false;
    running_.push_back(it->second.first);
    reservations_.erase(it);
    return true;
  }
  bool Release(uint64_t id) { return reservations_.erase(id) == 1; }
  size_t ExpireOverdue(int64_t now) {
    size_t n = 0;
    for (auto it = reservations_.begin(); it != reservations_.end();) {
      if (it->second.second <= now) {
        it = reservations_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  void Start(RefNode node) {
    if (node.accelerators == 0) node.type.clear();
    node.type = absl::AsciiStrToUpper(node.type);
    running_.push_back(node);
  }
  // Stops one running node of exactly this shape; false if none.
  bool Stop(RefNode node) {
    if (node.accelerators == 0) node.type.clear();
    node.type = absl::AsciiStrToUpper(node.type);
    for (size_t i = 0; i < running_.size(); ++i) {
      const RefNode& r = running_[i];
      if (r.cloud == node.cloud && r.project == node.project &&
          r.creator == node.creator && r.cpus == node.cpus &&
          r.gpus == node.gpus && r.type == node.type &&
          r.accelerators == node.accelerators) {
        running_.erase(running_.begin() + i);
        return true;
      }
    }
    return false;
  }

  // Usage of a scope ("" = ALL).
  ResourceUsage Usage(const std::string& cloud, const std::string& project,
                      const std::string& user) const {
    ResourceUsage u;
    std::map<std::string, int64_t> acc;
    for (const RefNode* n : Counted()) {
      if (n->cloud != cloud || (!project.empty() && n->project != project) ||
          (!user.empty() && n->creator != user)) {
        continue;
      }
      u.cpus += n->cpus;
      u.gpus += n->gpus;
      u.instances += 1;
      if (n->accelerators > 0) acc[n->type] += n->accelerators;
    }
    for (const auto& [t, c] : acc) u.accelerators.emplace_back(t, c);
    return u;
  }

  const std::vector<RefNode>& running() const { return running_; }
  size_t num_reservations() const { return reservations_.size(); }

 private:
  static QuotaReason Resolve(const v1::PolicySet& s, const RefNode& n) {
    const v1::Cloud* cloud = nullptr;
    for (const auto& c : s.clouds())
      if (c.id() == n.cloud) cloud = &c;
    if (cloud == nullptr) return QuotaReason::kUnknownCloud;
    const v1::Project* project = nullptr;
    for (const auto& p : s.projects())
      if (p.id() == n.project) project = &p;
    if (project == nullptr) return QuotaReason::kUnknownProject;
    const v1::Principal* user = nullptr;
    for (const auto& p : s.principals())
      if (p.id() == n.creator) user = &p;
    if (user == nullptr) return QuotaReason::kUnknownCreator;
    if (project->cloud_id() != cloud->id())
      return QuotaReason::kProjectNotInCloud;
    if (user->org_id() != cloud->org_id()) return QuotaReason::kCreatorNotInOrg;
    return QuotaReason::kWithinQuota;
  }

  static int Shape(const v1::ResourceQuota& q) {
    return (q.project_id().empty() ? 0 : 1) + (q.user_id().empty() ? 0 : 2);
  }

  static std::vector<const v1::ResourceQuota*> Applicable(
      const v1::PolicySet& s, const RefNode& n) {
    std::vector<const v1::ResourceQuota*> out;
    for (const auto& q : s.quotas()) {
      if (!q.enabled() || q.has_deleted_at()) continue;
      if (q.cloud_id() != n.cloud) continue;
      if (!q.project_id().empty() && q.project_id() != n.project) continue;
      if (!q.user_id().empty() && q.user_id() != n.creator) continue;
      out.push_back(&q);
    }
    // Shape order: cloud (0), project (1), user (2), project+user (3).
    std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
      return Shape(*a) < Shape(*b);
    });
    return out;
  }

  std::vector<const RefNode*> Counted() const {
    std::vector<const RefNode*> out;
    for (const RefNode& n : running_) out.push_back(&n);
    for (const auto& [id, r] : reservations_) out.push_back(&r.first);
    return out;
  }

  void Evaluate(const std::vector<const v1::ResourceQuota*>& quotas,
                const RefNode& node, RefDecision* d) const {
    std::vector<RefBreach> hard, soft;
    for (const auto* q : quotas) {
      const ResourceUsage u =
          Usage(q->cloud_id(), q->project_id(), q->user_id());
      RefBreach b;
      b.quota_id = q->id();
      b.hard = q->hard();
      bool passed = false;
      auto check = [&](bool limited, int64_t limit, int64_t usage,
                       int64_t requested, QuotaDimension dim,
                       const std::string& type) {
        if (passed || !limited) return;
        if (usage + requested > limit) {
          passed = true;
          b.dimension = dim;
          b.type = type;
          b.usage = usage;
          b.requested = requested;
          b.limit = limit;
        }
      };
      const v1::QuotaLimits& l = q->limits();
      check(l.has_num_cpus(), l.num_cpus(), u.cpus, node.cpus,
            QuotaDimension::kCpus, "");
      check(l.has_num_gpus(), l.num_gpus(), u.gpus, node.gpus,
            QuotaDimension::kGpus, "");
      check(l.has_num_instances(), l.num_instances(), u.instances, 1,
            QuotaDimension::kInstances, "");
      std::map<std::string, int64_t> limits;
      for (const auto& [t, v] : l.num_accelerators())
        limits[absl::AsciiStrToUpper(t)] = v;
      for (const auto& [t, v] : limits) {
        int64_t used = 0;
        for (const auto& [ut, c] : u.accelerators)
          if (ut == t) used = c;
        check(true, v, used, t == node.type ? node.accelerators : 0,
              QuotaDimension::kAccelerators, t);
      }
      if (passed) (b.hard ? hard : soft).push_back(b);
    }
    d->breaches = hard;
    d->breaches.insert(d->breaches.end(), soft.begin(), soft.end());
    d->outcome = !hard.empty()   ? QuotaOutcome::kBlock
                 : !soft.empty() ? QuotaOutcome::kAdmitWithAlert
                                 : QuotaOutcome::kAdmit;
    d->reason = !hard.empty()   ? QuotaReason::kHardQuotaExceeded
                : !soft.empty() ? QuotaReason::kSoftQuotaExceeded
                                : QuotaReason::kWithinQuota;
  }

  std::vector<RefNode> running_;
  std::map<uint64_t, std::pair<RefNode, int64_t>> reservations_;
  uint64_t next_id_ = 1;
};

// ---- Budgets ----

struct RefSpend {
  std::string cloud, project;
  int64_t micro = 0;
  int64_t seconds = 0;
};

class ReferenceBudgets {
 public:
  void Record(const RefSpend& s) { events_.push_back(s); }

  static int64_t Start(v1::BudgetPeriod p, int64_t seconds) {
    const absl::CivilSecond c = absl::ToCivilSecond(
        absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
    const absl::CivilSecond start =
        p == v1::BUDGET_PERIOD_DAILY ? absl::CivilSecond(absl::CivilDay(c))
                                     : absl::CivilSecond(absl::CivilMonth(c));
    return absl::ToUnixSeconds(absl::FromCivil(start, absl::UTCTimeZone()));
  }
  static int64_t End(v1::BudgetPeriod p, int64_t start) {
    const absl::CivilSecond c =
        absl::ToCivilSecond(absl::FromUnixSeconds(start), absl::UTCTimeZone());
    const absl::CivilSecond end =
        p == v1::BUDGET_PERIOD_DAILY
            ? absl::CivilSecond(absl::CivilDay(c) + 1)
            : absl::CivilSecond(absl::CivilMonth(c) + 1);
    return absl::ToUnixSeconds(absl::FromCivil(end, absl::UTCTimeZone()));
  }

  // Spend of budget `b` in the period starting at `start`.
  int64_t SpendOf(const v1::PolicySet& s, const v1::Budget& b,
                  int64_t start) const {
    int64_t total = 0;
    for (const RefSpend& e : events_) {
      if (Start(b.period(), e.seconds) != start) continue;
      if (!b.project_id().empty()) {
        if (e.project != b.project_id()) continue;
      } else if (!b.cloud_id().empty()) {
        if (e.cloud != b.cloud_id()) continue;
      } else {
        bool in_org = false;
        for (const auto& c : s.clouds())
          if (c.id() == e.cloud && c.org_id() == b.org_id()) in_org = true;
        if (!in_org) continue;
      }
      total += e.micro;
    }
    return total;
  }

  // Whether budget `b` covers spend in (cloud, project).
  static bool Covers(const v1::PolicySet& s, const v1::Budget& b,
                     const std::string& cloud, const std::string& project) {
    if (!b.project_id().empty()) return b.project_id() == project;
    if (!b.cloud_id().empty()) return b.cloud_id() == cloud;
    for (const auto& c : s.clouds())
      if (c.id() == cloud) return c.org_id() == b.org_id();
    return false;
  }

  // Alerts ("id@percent start") owed by the live budgets of `s` for the
  // periods `touched` (period kind, start), in no particular order; marks
  // them fired. With `event`, only the budgets covering its scope.
  std::vector<std::string> Due(const v1::PolicySet& s,
                               const std::set<std::pair<int, int64_t>>& touched,
                               const RefSpend* event = nullptr) {
    std::vector<std::string> out;
    for (const auto& b : s.budgets()) {
      if (!b.enabled() || b.has_deleted_at()) continue;
      if (event != nullptr && !Covers(s, b, event->cloud, event->project))
        continue;
      for (const auto& [period, start] : touched) {
        if (period != b.period()) continue;
        if (b.has_created_at() &&
            End(b.period(), start) <= b.created_at().seconds())
          continue;
        const int64_t spend = SpendOf(s, b, start);
        const int64_t amount =
            static_cast<int64_t>(std::round(b.amount_credits() * 1e6));
        std::vector<double> percents(b.thresholds_percent().begin(),
                                     b.thresholds_percent().end());
        if (percents.empty()) percents.push_back(100);
        for (double p : percents) {
          const double t = std::ceil(static_cast<double>(amount) * p / 100.0);
          if (static_cast<double>(spend) >= t &&
              fired_.insert({b.id(), start, p}).second) {
            out.push_back(absl::StrCat(b.id(), "@", p, " ", start));
          }
        }
      }
    }
    return out;
  }

 private:
  std::vector<RefSpend> events_;
  std::set<std::tuple<std::string, int64_t, double>> fired_;
};

}  // namespace reference
}  // namespace arbiter

#endif  // ARBITER_TESTS_QUOTA_REFERENCE_ACCOUNTANT_H_
