// arbiter admit (FILE | --demo) [--usage FILE] --principal P
//               --project CLOUD[/PROJECT] --type T [head node flags]

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/quota.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/decision_format.h"
#include "tools/query_line.h"
#include "tools/quota_usage.h"

namespace arbiter {
namespace cli {
namespace {

void AppendIamJson(const IamDecision& d, std::string* out) {
  absl::StrAppend(out, "{\"outcome\":\"", IamOutcomeName(d.outcome),
                  "\",\"reason\":\"", IamReasonName(d.reason),
                  "\",\"identity\":");
  if (d.identity.empty()) {
    out->append("null");
  } else {
    AppendJsonString(d.identity, out);
  }
  absl::StrAppend(out, ",\"rule_index\":");
  if (d.rule_index >= 0) {
    absl::StrAppend(out, d.rule_index);
  } else {
    out->append("null");
  }
  out->append("}");
}

int RunAdmit(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  if (!args.Has("principal"))
    return UsageError(command, io, "missing --principal");
  if (!args.Has("project")) {
    return UsageError(command, io, "missing --project CLOUD[/PROJECT]");
  }
  if (!args.Has("type")) return UsageError(command, io, "missing --type");
  absl::StatusOr<v1::WorkloadType> type = ParseWorkloadType(args.Get("type"));
  if (!type.ok()) {
    return UsageError(command, io,
                      absl::StrCat("--type: ", type.status().message()));
  }
  Channel channel = Channel::kApi;
  if (args.Has("channel")) {
    absl::StatusOr<Channel> c = ParseChannel(args.Get("channel"));
    if (!c.ok()) {
      return UsageError(command, io,
                        absl::StrCat("--channel: ", c.status().message()));
    }
    channel = *c;
  }
  absl::StatusOr<NodeShape> shape = GetNodeShape(args);
  if (!shape.ok()) return UsageError(command, io, shape.status().message());
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return UsageError(command, io, at.status().message());
  // One clock for grant expiry, reservations and budget periods.
  std::shared_ptr<const Clock> clock;
  if (at->has_value()) {
    clock = std::make_shared<FixedClock>(**at);
    state->options.clock = clock;
  }
  absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());
  absl::StatusOr<std::unique_ptr<const QuotaBook>> book =
      QuotaBook::Create(compiled->loaded.state);
  if (!book.ok()) {
    return InputError(
        command, io,
        absl::StrCat(compiled->loaded.name, ": ", book.status().message()));
  }
  QuotaAccountantOptions accountant_options;
  accountant_options.clock = clock;
  QuotaAccountant accountant(accountant_options);
  std::vector<BudgetAlert> alerts;
  BudgetTrackerOptions budget_options;
  budget_options.clock = clock;
  BudgetTracker budgets(
      [&alerts](const BudgetAlert& a) { alerts.push_back(a); }, budget_options);
  if (args.Has("usage")) {
    absl::StatusOr<UsageReplay> replay = ReplayUsageFile(
        args.Get("usage"), state->load.max_bytes, **book, accountant, budgets);
    if (!replay.ok()) return InputError(command, io, replay.status().message());
  }

  std::string cloud, project;
  SplitScopePath(args.Get("project"), &cloud, &project);
  const std::string principal = args.Get("principal");
  const std::string org = args.Get("org");
  const std::string compute_config = args.Get("compute-config");
  LaunchRequest launch;
  launch.principal = principal;
  launch.org = org;
  launch.cloud = cloud;
  launch.project = project;
  launch.type = *type;
  launch.compute_config = compute_config;
  launch.channel = channel;
  launch.head_cpus = shape->cpus;
  launch.head_gpus = shape->gpus;
  launch.head_accelerator_type = shape->accelerator_type;
  launch.head_accelerators = shape->accelerators;
  launch.reserve = false;  // one decision; nothing outlives the command
  AdmissionContext context;
  context.engine = compiled->engine.get();
  context.book = book->get();
  context.accountant = &accountant;
  context.budgets = &budgets;
  const LaunchDecision d = Admit(context, launch);

  Node head;
  head.cloud_id = d.scope.cloud_id;
  head.project_id = d.scope.project_id;
  head.creator_id = d.scope.user_id;
  head.cpus = launch.head_cpus;
  head.gpus = launch.head_gpus;
  head.accelerator_type = launch.head_accelerator_type;
  head.accelerators = launch.head_accelerators;
  const bool resolved = d.blocker != LaunchBlocker::kRequest &&
                        d.blocker != LaunchBlocker::kState &&
                        d.blocker != LaunchBlocker::kInternal;
  std::string out;
  if (args.Has("json")) {
    const DecisionFormatter formatter(*compiled->engine);
    absl::StrAppend(&out, "{\"outcome\":\"", LaunchOutcomeName(d.outcome),
                    "\",\"blocker\":\"", LaunchBlockerName(d.blocker),
                    "\",\"error\":");
    AppendJsonString(d.request_error, &out);
    out.append(",\"scope\":{\"org_id\":");
    AppendJsonString(d.scope.org_id, &out);
    out.append(",\"cloud_id\":");
    AppendJsonString(d.scope.cloud_id, &out);
    out.append(",\"project_id\":");
    AppendJsonString(d.scope.project_id, &out);
    out.append(",\"principal_id\":");
    AppendJsonString(d.scope.user_id, &out);
    out.append("}");
    if (resolved) {
      out.append(",\"permission\":");
      AppendJsonString(d.permission, &out);
      out.append(",\"rbac\":");
      std::string rbac;
      formatter.AppendJson(d.rbac, "", &rbac);
      while (!rbac.empty() && rbac.back() == '\n') rbac.pop_back();
      out.append(rbac);
      out.append(",\"iam\":");
      AppendIamJson(d.iam, &out);
      out.append(",\"quota\":");
      AppendQuotaJson(**book, accountant, head, d.quota, &out);
      out.append(",\"budget\":");
      if (d.has_budget) {
        out.append("{\"id\":");
        AppendJsonString(d.budget.budget_id, &out);
        absl::StrAppend(
            &out, ",\"period\":\"",
            d.budget.period == v1::BUDGET_PERIOD_DAILY ? "DAILY" : "MONTHLY",
            "\",\"period_start\":\"", FormatRfc3339(d.budget.period_start),
            "\",\"spend_credits\":", d.budget.spend_credits,
            ",\"amount_credits\":", d.budget.amount_credits,
            ",\"percent\":", d.budget.percent,
            ",\"over\":", d.budget.over ? "true" : "false", "}");
      } else {
        out.append("null");
      }
    }
    out.append(",\"budget_alerts\":[");
    for (size_t i = 0; i < alerts.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendBudgetAlertJson(alerts[i], &out);
    }
    absl::StrAppend(&out, "],\"revision\":", d.revision, "}\n");
  } else {
    out = d.ToString();
    if (resolved) {
      // The quota details go under the quota line.
      const size_t budget = out.find("\n  budget:");
      if (budget != std::string::npos) {
        out.insert(budget + 1, QuotaDetailsText(**book, accountant, head,
                                                d.quota, "          "));
      }
    }
    for (const BudgetAlert& alert : alerts) {
      absl::StrAppend(&out, "  alert while replaying the usage: ",
                      BudgetAlertText(alert), "\n");
    }
  }
  std::fputs(out.c_str(), io.out);
  if (d.blocker == LaunchBlocker::kRequest) {
    // An unknown name is an input problem, not a decision about a launch.
    std::fprintf(io.err, "arbiter admit: %s\n",
                 OneLine(d.request_error).c_str());
    return kExitUsage;
  }
  return d.admitted() ? kExitOk : kExitDenied;
}

}  // namespace

const Command& AdmitCommand() {
  static const Command* const command = new Command{
      "admit",
      "arbiter admit (FILE | --demo) [--usage FILE] --principal EMAIL|ID "
      "--project CLOUD[/PROJECT] --type T [--cpus N] [--gpus N] "
      "[--accelerator-type T --accelerators N] [flags]",
      "one decision for a workload launch: RBAC, IAM, quotas and budgets",
      "Decides whether PRINCIPAL may launch a workload of type T in the\n"
      "project, in one answer with four parts (access-model \xC2\xA7"
      "4.1 rule 9):\n"
      "  rbac    Engine::Check of project.workload.create on the project\n"
      "  iam     the cloud identity (IAM mapping); FAIL blocks\n"
      "  quota   the head node (the --cpus, --gpus and accelerator flags)\n"
      "          against every enabled quota; a hard quota blocks, a soft\n"
      "          one alerts\n"
      "  budget  the most consumed applicable budget in its current period;\n"
      "          over budget alerts, never blocks\n"
      "The usage file (JSON Lines; see 'arbiter quota --help') is replayed\n"
      "first: running nodes and spend. --at fixes \"now\" for grant expiry "
      "and\n"
      "budget periods.\n"
      "\n"
      "Exits 0 when admitted (ADMIT or ADMIT_WITH_ALERT), 1 when blocked, 2 "
      "on\n"
      "a usage or input error (an unknown cloud, project or principal, a\n"
      "malformed usage line).\n",
      [] {
        std::vector<FlagSpec> flags = {
            DemoFlag(),
            FormatFlag(),
            MaxBytesFlag(),
            OptionFlag(),
            {"usage", 0, FlagSpec::kValue, "FILE",
             "replay this usage file first (JSON Lines)"},
            {"principal", 'p', FlagSpec::kValue, "EMAIL|ID",
             "the launching user or service account"},
            {"project", 0, FlagSpec::kValue, "CLOUD[/PROJECT]",
             "where: a cloud and a project, ids or names (default project if "
             "omitted)"},
            {"type", 0, FlagSpec::kValue, "TYPE",
             "job, service, workspace or cluster"},
            {"compute-config", 0, FlagSpec::kValue, "ID|NAME",
             "the workload's compute config (its IAM identity may override)"},
            {"org", 0, FlagSpec::kValue, "ID|NAME",
             "the organization, for names in a state with several"},
            {"channel", 0, FlagSpec::kValue, "api|console",
             "how the principal reached the control plane (default api)"},
            {"at", 0, FlagSpec::kValue, "TIME",
             "decide at this RFC 3339 instant (default: now)"},
            {"json", 0, FlagSpec::kBool, "", "print the decision as JSON"},
        };
        for (const FlagSpec& f : NodeShapeFlags()) flags.push_back(f);
        return flags;
      }(),
      &RunAdmit};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
