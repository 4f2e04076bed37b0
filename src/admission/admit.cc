// Admit: one decision for a workload launch (access-model §4.1 rule 9,
// §5.4, §6, §7.3, §8.1).

#include <cstdio>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/quota.h"

namespace arbiter {

absl::string_view LaunchOutcomeName(LaunchOutcome outcome) {
  switch (outcome) {
    case LaunchOutcome::kAdmit:
      return "ADMIT";
    case LaunchOutcome::kAdmitWithAlert:
      return "ADMIT_WITH_ALERT";
    case LaunchOutcome::kBlock:
      return "BLOCK";
  }
  return "BLOCK";
}

absl::string_view LaunchBlockerName(LaunchBlocker blocker) {
  switch (blocker) {
    case LaunchBlocker::kNone:
      return "NONE";
    case LaunchBlocker::kRequest:
      return "REQUEST";
    case LaunchBlocker::kRbac:
      return "RBAC";
    case LaunchBlocker::kIam:
      return "IAM";
    case LaunchBlocker::kQuota:
      return "QUOTA";
    case LaunchBlocker::kState:
      return "STATE";
    case LaunchBlocker::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string LaunchDecision::ToString() const {
  std::string out(LaunchOutcomeName(outcome));
  if (blocker != LaunchBlocker::kNone) {
    absl::StrAppend(&out, " (", LaunchBlockerName(blocker), ")");
  }
  out.push_back('\n');
  if (blocker == LaunchBlocker::kRequest || blocker == LaunchBlocker::kState ||
      blocker == LaunchBlocker::kInternal) {
    absl::StrAppend(&out, "  error:  ", request_error, "\n");
    return out;
  }
  absl::StrAppend(&out, "  scope:  cloud=", scope.cloud_id,
                  " project=", scope.project_id, " principal=", scope.user_id,
                  "\n");
  std::ostringstream rbac_text;
  rbac_text << rbac;
  absl::StrAppend(&out, "  rbac:   ", rbac_text.str(), " (", permission, ")\n");
  std::ostringstream iam_text;
  iam_text << iam;
  absl::StrAppend(&out, "  iam:    ", iam_text.str(), "\n");
  absl::StrAppend(&out, "  quota:  ", NodeAdmissionToString(quota), "\n");
  if (has_budget) {
    absl::StrAppend(
        &out, "  budget: ", budget.budget_id, " ",
        budget.period == v1::BUDGET_PERIOD_DAILY ? "DAILY" : "MONTHLY", " ",
        absl::StrFormat("%.2f of %.2f credits (%.1f%%)", budget.spend_credits,
                        budget.amount_credits, budget.percent),
        budget.over ? " OVER BUDGET" : "", "\n");
  } else {
    absl::StrAppend(&out, "  budget: none applies\n");
  }
  return out;
}

LaunchDecision Admit(const AdmissionContext& context,
                     const LaunchRequest& launch) {
  LaunchDecision d;
  d.permission = kWorkloadCreatePermission;
  try {
    if (context.engine == nullptr || context.book == nullptr ||
        context.accountant == nullptr) {
      d.request_error = "missing Engine, QuotaBook or QuotaAccountant";
      return d;  // kBlock, kInternal
    }
    const Engine& engine = *context.engine;
    const QuotaBook& book = *context.book;
    d.revision = book.revision();
    if (engine.revision() != book.revision()) {
      // Names could resolve to different objects in the two states.
      d.blocker = LaunchBlocker::kState;
      d.request_error =
          absl::StrCat("the Engine (revision ", engine.revision(),
                       ") and the QuotaBook (revision ", book.revision(),
                       ") come from different states");
      return d;
    }
    absl::StatusOr<ScopeIds> scope = book.Resolve(launch.cloud, launch.project,
                                                  launch.principal, launch.org);
    if (!scope.ok()) {
      d.blocker = LaunchBlocker::kRequest;
      d.request_error = std::string(scope.status().message());
      return d;
    }
    d.scope = *scope;

    // (a) RBAC: may the principal create a workload in the project?
    AccessRequest request;
    request.principal = d.scope.user_id;
    request.permission = kWorkloadCreatePermission;
    request.resource = d.scope.project_id;
    request.org = d.scope.org_id;
    request.context.channel = launch.channel;
    d.rbac = engine.Check(request);

    // (b) The cloud identity: FAIL means the workload must not start.
    WorkloadAttributes workload;
    workload.cloud = d.scope.cloud_id;
    workload.org = d.scope.org_id;
    workload.type = launch.type;
    workload.project = d.scope.project_id;
    workload.user = d.scope.user_id;
    workload.compute_config = launch.compute_config;
    d.iam = engine.ResolveIam(workload);

    // (c) The head node against the quotas: reserved only when the launch
    // may otherwise go ahead.
    Node head;
    head.cloud_id = d.scope.cloud_id;
    head.project_id = d.scope.project_id;
    head.creator_id = d.scope.user_id;
    head.cpus = launch.head_cpus;
    head.gpus = launch.head_gpus;
    head.accelerator_type = launch.head_accelerator_type;
    head.accelerators = launch.head_accelerators;
    const bool gates_allow =
        d.rbac.allowed() && d.iam.outcome != IamOutcome::kFail;
    d.quota = launch.reserve && gates_allow
                  ? context.accountant->AdmitNode(book, head)
                  : context.accountant->CheckNode(book, head);

    // (d) Budgets: informational.
    if (context.budgets != nullptr) {
      d.has_budget = context.budgets->MostConsumed(
          book, d.scope.cloud_id, d.scope.project_id, &d.budget);
    }

    if (!d.rbac.allowed()) {
      d.blocker = LaunchBlocker::kRbac;
    } else if (d.iam.outcome == IamOutcome::kFail) {
      d.blocker = LaunchBlocker::kIam;
    } else if (d.quota.outcome == QuotaOutcome::kBlock) {
      d.blocker = LaunchBlocker::kQuota;
    } else {
      d.blocker = LaunchBlocker::kNone;
    }
    if (d.blocker != LaunchBlocker::kNone) {
      d.outcome = LaunchOutcome::kBlock;
    } else if (d.quota.outcome == QuotaOutcome::kAdmitWithAlert ||
               (d.has_budget && d.budget.over)) {
      d.outcome = LaunchOutcome::kAdmitWithAlert;
    } else {
      d.outcome = LaunchOutcome::kAdmit;
    }
    return d;
  } catch (...) {
    // Fail closed; a reservation taken before the failure is released.
    if (d.quota.reservation != 0 && context.accountant != nullptr) {
      context.accountant->Release(d.quota.reservation).IgnoreError();
      d.quota.reservation = 0;
    }
    d.outcome = LaunchOutcome::kBlock;
    d.blocker = LaunchBlocker::kInternal;
    return d;
  }
}

}  // namespace arbiter
