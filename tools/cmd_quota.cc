// arbiter quota list (FILE | --demo) [--cloud C] [--json]
// arbiter quota check (FILE | --demo) [--usage FILE] --node CLOUD[/PROJECT]
//                     --creator EMAIL|ID [--cpus N] [--gpus N] ...

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "arbiter/quota.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/query_line.h"
#include "tools/quota_usage.h"

namespace arbiter {
namespace cli {
namespace {

std::string StatusOf(bool enabled, bool deleted) {
  return deleted ? "deleted" : enabled ? "enabled" : "disabled";
}

std::string LimitText(const v1::QuotaLimits& l) {
  std::vector<std::string> parts;
  if (l.has_num_cpus()) parts.push_back(absl::StrCat("cpus=", l.num_cpus()));
  if (l.has_num_gpus()) parts.push_back(absl::StrCat("gpus=", l.num_gpus()));
  if (l.has_num_instances())
    parts.push_back(absl::StrCat("instances=", l.num_instances()));
  std::vector<std::pair<std::string, int64_t>> acc(l.num_accelerators().begin(),
                                                   l.num_accelerators().end());
  std::sort(acc.begin(), acc.end());
  for (const auto& [type, limit] : acc)
    parts.push_back(absl::StrCat(type, "=", limit));
  return parts.empty() ? "unlimited" : absl::StrJoin(parts, " ");
}

// Names for ids, for people.
struct Names {
  explicit Names(const v1::PolicySet& s) : state(s) {}
  std::string Cloud(const std::string& id) const {
    for (const auto& c : state.clouds())
      if (c.id() == id) return c.name().empty() ? id : c.name();
    return id;
  }
  std::string Project(const std::string& id) const {
    if (id.empty()) return "ALL";
    for (const auto& p : state.projects())
      if (p.id() == id) return p.name().empty() ? id : p.name();
    return id;
  }
  std::string User(const std::string& id) const {
    if (id.empty()) return "ALL";
    for (const auto& p : state.principals())
      if (p.id() == id) return p.email().empty() ? id : p.email();
    return id;
  }
  const v1::PolicySet& state;
};

int RunList(const Command& command, const ParsedArgs& args, const Io& io,
            const StateArgs& state_args) {
  for (const char* flag : {"usage", "node", "creator", "cpus", "gpus",
                           "accelerator-type", "accelerators", "at"}) {
    if (args.Has(flag)) {
      return UsageError(command, io,
                        absl::StrCat("--", flag, " belongs to 'quota check'"));
    }
  }
  absl::StatusOr<Compiled> compiled = LoadAndCompile(state_args);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());
  const v1::PolicySet& s = compiled->loaded.state;
  std::string cloud_id;
  if (args.Has("cloud")) {
    const std::string cloud = args.Get("cloud");
    for (const auto& c : s.clouds()) {
      if (c.id() == cloud || c.name() == cloud) {
        cloud_id = c.id();
        break;
      }
    }
    if (cloud_id.empty()) {
      return InputError(command, io,
                        absl::StrCat("unknown cloud \"", OneLine(cloud), "\""));
    }
  }
  const Names names(s);
  std::string out;
  const bool json = args.Has("json");
  if (json) out.append("{\"quotas\":[");
  int shown = 0;
  for (const v1::ResourceQuota& q : s.quotas()) {
    if (!cloud_id.empty() && q.cloud_id() != cloud_id) continue;
    if (json) {
      if (shown > 0) out.push_back(',');
      out.append("{\"id\":");
      AppendJsonString(q.id(), &out);
      out.append(",\"name\":");
      AppendJsonString(q.name(), &out);
      out.append(",\"cloud_id\":");
      AppendJsonString(q.cloud_id(), &out);
      out.append(",\"project_id\":");
      AppendJsonString(q.project_id(), &out);
      out.append(",\"user_id\":");
      AppendJsonString(q.user_id(), &out);
      absl::StrAppend(
          &out, ",\"status\":\"", StatusOf(q.enabled(), q.has_deleted_at()),
          "\",\"hard\":", q.hard() ? "true" : "false", ",\"limits\":{");
      const v1::QuotaLimits& l = q.limits();
      std::vector<std::string> fields;
      if (l.has_num_cpus())
        fields.push_back(absl::StrCat("\"num_cpus\":", l.num_cpus()));
      if (l.has_num_gpus())
        fields.push_back(absl::StrCat("\"num_gpus\":", l.num_gpus()));
      if (l.has_num_instances())
        fields.push_back(absl::StrCat("\"num_instances\":", l.num_instances()));
      std::string acc = "\"num_accelerators\":{";
      std::vector<std::pair<std::string, int64_t>> sorted(
          l.num_accelerators().begin(), l.num_accelerators().end());
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) acc.push_back(',');
        AppendJsonString(sorted[i].first, &acc);
        absl::StrAppend(&acc, ":", sorted[i].second);
      }
      acc.push_back('}');
      fields.push_back(acc);
      absl::StrAppend(&out, absl::StrJoin(fields, ","), "}}");
    } else {
      if (shown == 0) out.append("QUOTAS\n");
      absl::StrAppend(
          &out, "  ", q.id(),
          q.name().empty() ? "" : absl::StrCat(" \"", q.name(), "\""), "  ",
          StatusOf(q.enabled(), q.has_deleted_at()), " ",
          q.hard() ? "hard" : "soft", "  cloud=", names.Cloud(q.cloud_id()),
          " project=", names.Project(q.project_id()),
          " user=", names.User(q.user_id()), "  ", LimitText(q.limits()), "\n");
    }
    ++shown;
  }
  if (!json && shown == 0) out.append("QUOTAS\n  (none)\n");
  if (json) out.append("],\"budgets\":[");
  int budgets = 0;
  for (const v1::Budget& b : s.budgets()) {
    if (!cloud_id.empty() && b.cloud_id() != cloud_id) continue;
    const char* period = b.period() == v1::BUDGET_PERIOD_DAILY ? "DAILY"
                         : b.period() == v1::BUDGET_PERIOD_MONTHLY
                             ? "MONTHLY"
                             : "UNSPECIFIED";
    std::vector<std::string> thresholds;
    for (double t : b.thresholds_percent())
      thresholds.push_back(absl::StrCat(t));
    if (json) {
      if (budgets > 0) out.push_back(',');
      out.append("{\"id\":");
      AppendJsonString(b.id(), &out);
      out.append(",\"name\":");
      AppendJsonString(b.name(), &out);
      out.append(",\"org_id\":");
      AppendJsonString(b.org_id(), &out);
      out.append(",\"cloud_id\":");
      AppendJsonString(b.cloud_id(), &out);
      out.append(",\"project_id\":");
      AppendJsonString(b.project_id(), &out);
      absl::StrAppend(&out, ",\"status\":\"",
                      StatusOf(b.enabled(), b.has_deleted_at()),
                      "\",\"period\":\"", period,
                      "\",\"amount_credits\":", b.amount_credits(),
                      ",\"thresholds_percent\":[",
                      absl::StrJoin(thresholds, ","), "],\"recipients\":[");
      for (int i = 0; i < b.recipients_size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJsonString(b.recipients(i), &out);
      }
      out.append("]}");
    } else {
      if (budgets == 0) out.append("BUDGETS\n");
      const std::string scope =
          b.cloud_id().empty()
              ? absl::StrCat("organization ", b.org_id())
              : absl::StrCat("cloud=", names.Cloud(b.cloud_id()),
                             " project=", names.Project(b.project_id()));
      absl::StrAppend(
          &out, "  ", b.id(),
          b.name().empty() ? "" : absl::StrCat(" \"", b.name(), "\""), "  ",
          StatusOf(b.enabled(), b.has_deleted_at()), " ", period, " ",
          absl::StrFormat("%.2f", b.amount_credits()), " credits  ", scope,
          "  thresholds=",
          thresholds.empty()
              ? "100% (default)"
              : absl::StrCat(absl::StrJoin(thresholds, ","), "%"),
          "  recipients=",
          b.recipients().empty() ? "none" : absl::StrJoin(b.recipients(), ","),
          "\n");
    }
    ++budgets;
  }
  if (!json && budgets == 0) out.append("BUDGETS\n  (none)\n");
  const std::vector<absl::Status> problems = ValidateQuotas(s);
  if (json) {
    out.append("],\"problems\":[");
    for (size_t i = 0; i < problems.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(problems[i].message(), &out);
    }
    out.append("]}\n");
  }
  std::fputs(out.c_str(), io.out);
  for (const absl::Status& p : problems) {
    std::fprintf(io.err, "arbiter quota: %s: %s\n",
                 std::string(absl::StatusCodeToString(p.code())).c_str(),
                 OneLine(p.message()).c_str());
  }
  return problems.empty() ? kExitOk : kExitDenied;
}

int RunCheck(const Command& command, const ParsedArgs& args, const Io& io,
             StateArgs state_args) {
  if (args.Has("cloud")) {
    return UsageError(command, io,
                      "--cloud belongs to 'quota list'; 'quota check' takes "
                      "--node CLOUD[/PROJECT]");
  }
  if (!args.Has("node"))
    return UsageError(command, io, "missing --node CLOUD[/PROJECT]");
  if (!args.Has("creator"))
    return UsageError(command, io, "missing --creator EMAIL|ID");
  absl::StatusOr<NodeShape> shape = GetNodeShape(args);
  if (!shape.ok()) return UsageError(command, io, shape.status().message());
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return UsageError(command, io, at.status().message());
  std::shared_ptr<const Clock> clock;
  if (at->has_value()) {
    clock = std::make_shared<FixedClock>(**at);
    state_args.options.clock = clock;
  }
  absl::StatusOr<Compiled> compiled = LoadAndCompile(state_args);
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
    absl::StatusOr<UsageReplay> replay =
        ReplayUsageFile(args.Get("usage"), state_args.load.max_bytes, **book,
                        accountant, budgets);
    if (!replay.ok()) return InputError(command, io, replay.status().message());
  }
  std::string cloud, project;
  SplitScopePath(args.Get("node"), &cloud, &project);
  absl::StatusOr<ScopeIds> ids =
      (*book)->Resolve(cloud, project, args.Get("creator"), args.Get("org"));
  if (!ids.ok()) return InputError(command, io, ids.status().message());
  Node node;
  node.cloud_id = ids->cloud_id;
  node.project_id = ids->project_id;
  node.creator_id = ids->user_id;
  node.cpus = shape->cpus;
  node.gpus = shape->gpus;
  node.accelerator_type = shape->accelerator_type;
  node.accelerators = shape->accelerators;
  const NodeAdmission a = accountant.CheckNode(**book, node);
  std::string out;
  if (args.Has("json")) {
    out.append("{\"node\":{\"cloud_id\":");
    AppendJsonString(node.cloud_id, &out);
    out.append(",\"project_id\":");
    AppendJsonString(node.project_id, &out);
    out.append(",\"creator_id\":");
    AppendJsonString(node.creator_id, &out);
    absl::StrAppend(&out, ",\"cpus\":", node.cpus, ",\"gpus\":", node.gpus,
                    ",\"accelerator_type\":");
    AppendJsonString(node.accelerator_type, &out);
    absl::StrAppend(&out, ",\"accelerators\":", node.accelerators,
                    "},\"quota\":");
    AppendQuotaJson(**book, accountant, node, a, &out);
    out.append(",\"budget_alerts\":[");
    for (size_t i = 0; i < alerts.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendBudgetAlertJson(alerts[i], &out);
    }
    out.append("]}\n");
  } else {
    absl::StrAppend(&out, NodeAdmissionToString(a), "\n");
    absl::StrAppend(&out, "  node: cloud=", node.cloud_id,
                    " project=", node.project_id, " creator=", node.creator_id,
                    " cpus=", node.cpus, " gpus=", node.gpus);
    if (node.accelerators > 0) {
      absl::StrAppend(&out, " ",
                      CanonicalAcceleratorType(node.accelerator_type), " x",
                      node.accelerators);
    }
    out.append(" (1 instance)\n");
    out.append(QuotaDetailsText(**book, accountant, node, a, "  "));
    for (const BudgetAlert& alert : alerts) {
      absl::StrAppend(&out, "  alert while replaying the usage: ",
                      BudgetAlertText(alert), "\n");
    }
  }
  std::fputs(out.c_str(), io.out);
  return a.outcome == QuotaOutcome::kBlock ? kExitDenied : kExitOk;
}

int RunQuota(const Command& command, const ParsedArgs& args, const Io& io) {
  const std::vector<std::string>& positional = args.positional();
  if (positional.empty()) {
    return UsageError(command, io, "missing subcommand: list or check");
  }
  const std::string& sub = positional[0];
  if (sub != "list" && sub != "check") {
    return UsageError(command, io,
                      absl::StrCat("unknown subcommand \"", OneLine(sub),
                                   "\" (list or check)"));
  }
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  if (positional.size() > 2)
    return UsageError(command, io, "more than one FILE");
  if (positional.size() == 2) {
    if (state->demo) return UsageError(command, io, "both FILE and --demo");
    state->path = positional[1];
  } else if (!state->demo) {
    return UsageError(command, io, "missing FILE (or --demo)");
  }
  return sub == "list" ? RunList(command, args, io, *state)
                       : RunCheck(command, args, io, *state);
}

std::vector<FlagSpec> QuotaFlags() {
  std::vector<FlagSpec> flags = {
      DemoFlag(),
      FormatFlag(),
      MaxBytesFlag(),
      OptionFlag(),
      {"cloud", 0, FlagSpec::kValue, "ID|NAME",
       "list: only this cloud's quotas and budgets"},
      {"usage", 0, FlagSpec::kValue, "FILE",
       "check: replay this usage file first (JSON Lines; docs/quotas.md)"},
      {"node", 0, FlagSpec::kValue, "CLOUD[/PROJECT]",
       "check: the node's cloud and project (ids or names; default project "
       "if omitted)"},
      {"creator", 0, FlagSpec::kValue, "EMAIL|ID",
       "check: the principal the node counts for"},
      {"org", 0, FlagSpec::kValue, "ID|NAME",
       "the organization, for names in a state with several"},
      AtFlag(),
      {"json", 0, FlagSpec::kBool, "", "print the result as one JSON object"},
  };
  for (const FlagSpec& f : NodeShapeFlags()) flags.push_back(f);
  return flags;
}

}  // namespace

const Command& QuotaCommand() {
  static const Command* const command = new Command{
      "quota",
      "arbiter quota list (FILE | --demo) [--cloud C] [--json]\n"
      "       arbiter quota check (FILE | --demo) [--usage FILE] "
      "--node CLOUD[/PROJECT] --creator EMAIL|ID [--cpus N] [--gpus N] "
      "[--accelerator-type T --accelerators N] [--json]",
      "list resource quotas and budgets; check a node against the quotas",
      "list: every quota and budget of the state with its scope, limits and\n"
      "status (enabled, disabled, deleted), then the problems the state's\n"
      "quotas and budgets have. Exits 1 when there are problems.\n"
      "\n"
      "check: replays the usage file (nodes started and stopped, spend), then\n"
      "decides whether one more node may start: ADMIT, ADMIT_WITH_ALERT (a\n"
      "soft quota would be passed) or BLOCK (a hard quota would be passed),\n"
      "with every applicable quota's usage and limit per dimension. Reaching "
      "a\n"
      "limit exactly is allowed. Exits 0 when admitted, 1 when blocked, 2 on "
      "a\n"
      "usage or input error (an unknown name, a malformed usage line).\n"
      "\n"
      "A usage file holds one JSON object per line, e.g.\n"
      "  {\"node_started\": {\"cloud\": \"prod\", \"project\": \"ml-prod\",\n"
      "    \"creator\": \"dave@acme.com\", \"gpus\": 4, \"accelerator_type\":\n"
      "    \"A100-80G\", \"accelerators\": 4, \"count\": 2}}\n"
      "  {\"spend\": {\"cloud\": \"prod\", \"credits\": 120.5, \"time\":\n"
      "    \"2026-03-14T10:00:00Z\"}}\n"
      "See docs/quotas.md.\n",
      QuotaFlags(),
      &RunQuota};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
