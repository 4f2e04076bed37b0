#include "tools/quota_usage.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "arbiter/v1/quota.pb.h"
#include "src/io/json_scan.h"
#include "tools/cli_options.h"
#include "tools/query_line.h"
#include "tools/state_loader.h"

namespace arbiter {
namespace cli {
namespace {

// Most identical nodes one event may stand for.
constexpr int64_t kMaxCount = 100000;

absl::Status LineError(const std::string& path, size_t line,
                       absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ":", line, ": ", message));
}

absl::Status ApplyNode(const v1::NodeEvent& e, bool started,
                       const QuotaBook& book, QuotaAccountant& accountant,
                       UsageReplay* replay) {
  if (e.creator().empty()) {
    return absl::InvalidArgumentError("missing creator (an id or an email)");
  }
  absl::StatusOr<ScopeIds> ids =
      book.Resolve(e.cloud(), e.project(), e.creator(), e.org());
  if (!ids.ok()) return ids.status();
  const int64_t count = e.has_count() ? e.count() : 1;
  if (count < 1 || count > kMaxCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "count must be in [1, ", kMaxCount, "] (got ", count, ")"));
  }
  Node node;
  node.cloud_id = ids->cloud_id;
  node.project_id = ids->project_id;
  node.creator_id = ids->user_id;
  node.cpus = e.cpus();
  node.gpus = e.gpus();
  node.accelerator_type = e.accelerator_type();
  node.accelerators = e.accelerators();
  for (int64_t i = 0; i < count; ++i) {
    absl::Status s =
        started ? accountant.NodeStarted(node) : accountant.NodeStopped(node);
    if (!s.ok()) return s;
    ++(started ? replay->nodes_started : replay->nodes_stopped);
  }
  return absl::OkStatus();
}

absl::Status ApplySpend(const v1::SpendEvent& e, const QuotaBook& book,
                        BudgetTracker& budgets) {
  if (!e.has_time()) {
    return absl::InvalidArgumentError(
        "spend needs a time (RFC 3339, e.g. \"2026-03-14T10:00:00Z\")");
  }
  absl::StatusOr<ScopeIds> cloud = book.Resolve(e.cloud(), "", "", e.org());
  if (!cloud.ok()) return cloud.status();
  SpendEvent spend;
  spend.cloud_id = cloud->cloud_id;
  ScopeIds project;
  if (!e.project().empty()) {
    absl::StatusOr<ScopeIds> p =
        book.Resolve(e.cloud(), e.project(), "", e.org());
    if (!p.ok()) return p.status();
    project = *p;
    spend.project_id = project.project_id;
  }
  spend.credits = e.credits();
  spend.time = absl::FromUnixSeconds(e.time().seconds()) +
               absl::Nanoseconds(e.time().nanos());
  return budgets.RecordSpend(book, spend);
}

}  // namespace

absl::StatusOr<UsageReplay> ReplayUsageFile(const std::string& path,
                                            size_t max_bytes,
                                            const QuotaBook& book,
                                            QuotaAccountant& accountant,
                                            BudgetTracker& budgets) {
  absl::StatusOr<std::string> data = ReadInputFile(path, max_bytes);
  if (!data.ok()) return data.status();
  absl::string_view text = *data;
  internal::ConsumeUtf8Bom(&text);
  UsageReplay replay;
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (IsBlankLine(line)) continue;
    v1::UsageEvent event;
    absl::Status parsed = internal::ParseStrictJson(
        line, path, internal::JsonParseOptions(), &event);
    if (!parsed.ok()) {
      // The parser numbers lines within `line`: always 1.
      std::string message(parsed.message());
      const std::string prefix = absl::StrCat(path, ":1:");
      if (absl::StartsWith(message, prefix)) {
        message =
            absl::StrCat(path, ":", number, ":", message.substr(prefix.size()));
      } else if (absl::StartsWith(message, path + ": ")) {
        message = absl::StrCat(path, ":", number, message.substr(path.size()));
      }
      return absl::InvalidArgumentError(message);
    }
    absl::Status applied;
    switch (event.event_case()) {
      case v1::UsageEvent::kNodeStarted:
        applied =
            ApplyNode(event.node_started(), true, book, accountant, &replay);
        break;
      case v1::UsageEvent::kNodeStopped:
        applied =
            ApplyNode(event.node_stopped(), false, book, accountant, &replay);
        break;
      case v1::UsageEvent::kSpend:
        applied = ApplySpend(event.spend(), book, budgets);
        if (applied.ok()) ++replay.spend_events;
        break;
      case v1::UsageEvent::EVENT_NOT_SET:
        applied = absl::InvalidArgumentError(
            "an event needs one of node_started, node_stopped, spend");
        break;
    }
    if (!applied.ok()) return LineError(path, number, applied.message());
    ++replay.events;
  }
  return replay;
}

std::vector<FlagSpec> NodeShapeFlags() {
  return {
      {"cpus", 0, FlagSpec::kValue, "N", "the node's CPUs (default 0)"},
      {"gpus", 0, FlagSpec::kValue, "N", "the node's GPUs (default 0)"},
      {"accelerator-type", 0, FlagSpec::kValue, "TYPE",
       "the node's accelerator type, e.g. A100-80G (any case)"},
      {"accelerators", 0, FlagSpec::kValue, "N",
       "how many accelerators of that type (default 0)"},
  };
}

absl::StatusOr<NodeShape> GetNodeShape(const ParsedArgs& args) {
  NodeShape shape;
  auto number = [&](const char* flag, int64_t* out) -> absl::Status {
    if (!args.Has(flag)) return absl::OkStatus();
    const std::string value = args.Get(flag);
    if (!absl::SimpleAtoi(value, out) || *out < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": expected a non-negative integer, got \"",
                       OneLine(value), "\""));
    }
    return absl::OkStatus();
  };
  absl::Status s = number("cpus", &shape.cpus);
  if (s.ok()) s = number("gpus", &shape.gpus);
  if (s.ok()) s = number("accelerators", &shape.accelerators);
  if (!s.ok()) return s;
  shape.accelerator_type = args.Get("accelerator-type");
  if (shape.accelerators > 0 && shape.accelerator_type.empty()) {
    return absl::InvalidArgumentError(
        "--accelerators needs --accelerator-type");
  }
  return shape;
}

void SplitScopePath(const std::string& path, std::string* cloud,
                    std::string* project) {
  const size_t slash = path.find('/');
  if (slash == std::string::npos) {
    *cloud = path;
    project->clear();
  } else {
    *cloud = path.substr(0, slash);
    *project = path.substr(slash + 1);
  }
}

namespace {

struct Row {
  std::string dimension;  // "cpus", "accelerators[A100-80G]"
  int64_t usage = 0;
  int64_t requested = 0;
  int64_t limit = 0;
  bool passes = false;
};

std::vector<Row> Rows(const v1::ResourceQuota& q, const ResourceUsage& u,
                      const Node& node) {
  std::vector<Row> rows;
  auto add = [&](std::string name, int64_t usage, int64_t requested,
                 int64_t limit) {
    rows.push_back(Row{std::move(name), usage, requested, limit,
                       requested > limit - usage});
  };
  const v1::QuotaLimits& l = q.limits();
  if (l.has_num_cpus()) add("cpus", u.cpus, node.cpus, l.num_cpus());
  if (l.has_num_gpus()) add("gpus", u.gpus, node.gpus, l.num_gpus());
  if (l.has_num_instances())
    add("instances", u.instances, 1, l.num_instances());
  const std::string node_type =
      node.accelerators > 0 ? absl::AsciiStrToUpper(node.accelerator_type)
                            : std::string();
  std::map<std::string, int64_t> limits;
  for (const auto& [type, limit] : l.num_accelerators())
    limits[absl::AsciiStrToUpper(type)] = limit;
  for (const auto& [type, limit] : limits) {
    int64_t used = 0;
    for (const auto& [t, c] : u.accelerators)
      if (t == type) used = c;
    add(absl::StrCat("accelerators[", type, "]"), used,
        type == node_type ? node.accelerators : 0, limit);
  }
  return rows;
}

std::string ScopeText(const v1::ResourceQuota& q) {
  return absl::StrCat("cloud=", q.cloud_id(), " project=",
                      q.project_id().empty() ? "ALL" : q.project_id(),
                      " user=", q.user_id().empty() ? "ALL" : q.user_id());
}

}  // namespace

std::string QuotaDetailsText(const QuotaBook& book,
                             const QuotaAccountant& accountant,
                             const Node& node, const NodeAdmission& admission,
                             absl::string_view indent) {
  std::string out;
  if (admission.num_applicable == 0) {
    absl::StrAppend(&out, indent, "no enabled quota applies\n");
    return out;
  }
  for (int i = 0; i < admission.num_applicable; ++i) {
    const v1::ResourceQuota& q = book.quotas()[admission.applicable[i]];
    absl::StrAppend(&out, indent, "quota ", q.id());
    if (!q.name().empty()) absl::StrAppend(&out, " \"", q.name(), "\"");
    absl::StrAppend(&out, " (", q.hard() ? "hard" : "soft", "; ", ScopeText(q),
                    ")\n");
    const ResourceUsage u =
        accountant.Usage(q.cloud_id(), q.project_id(), q.user_id());
    const std::vector<Row> rows = Rows(q, u, node);
    if (rows.empty())
      absl::StrAppend(&out, indent, "  no limits (unlimited)\n");
    for (const Row& r : rows) {
      absl::StrAppend(
          &out, indent, "  ",
          absl::StrFormat("%-24s %6d in use + %d requested %s limit %d%s",
                          r.dimension, r.usage, r.requested,
                          r.passes ? ">" : "<=", r.limit,
                          r.passes ? (q.hard() ? "  BLOCKS" : "  ALERTS") : ""),
          "\n");
    }
  }
  return out;
}

void AppendQuotaJson(const QuotaBook& book, const QuotaAccountant& accountant,
                     const Node& node, const NodeAdmission& admission,
                     std::string* out) {
  absl::StrAppend(out, "{\"outcome\":\"", QuotaOutcomeName(admission.outcome),
                  "\",\"reason\":\"", QuotaReasonName(admission.reason),
                  "\",\"applicable\":[");
  for (int i = 0; i < admission.num_applicable; ++i) {
    const v1::ResourceQuota& q = book.quotas()[admission.applicable[i]];
    if (i > 0) out->push_back(',');
    out->append("{\"id\":");
    AppendJsonString(q.id(), out);
    out->append(",\"name\":");
    AppendJsonString(q.name(), out);
    absl::StrAppend(out, ",\"hard\":", q.hard() ? "true" : "false",
                    ",\"cloud_id\":");
    AppendJsonString(q.cloud_id(), out);
    out->append(",\"project_id\":");
    AppendJsonString(q.project_id(), out);
    out->append(",\"user_id\":");
    AppendJsonString(q.user_id(), out);
    out->append(",\"dimensions\":[");
    const std::vector<Row> rows = Rows(
        q, accountant.Usage(q.cloud_id(), q.project_id(), q.user_id()), node);
    for (size_t k = 0; k < rows.size(); ++k) {
      const Row& r = rows[k];
      if (k > 0) out->push_back(',');
      out->append("{\"dimension\":");
      AppendJsonString(r.dimension, out);
      absl::StrAppend(out, ",\"usage\":", r.usage,
                      ",\"requested\":", r.requested, ",\"limit\":", r.limit,
                      ",\"passes\":", r.passes ? "true" : "false", "}");
    }
    out->append("]}");
  }
  out->append("],\"breaches\":[");
  for (int i = 0; i < admission.num_breaches; ++i) {
    const QuotaBreach& b = admission.breaches[i];
    if (i > 0) out->push_back(',');
    out->append("{\"quota\":");
    AppendJsonString(b.quota_id, out);
    absl::StrAppend(out, ",\"hard\":", b.hard ? "true" : "false",
                    ",\"dimension\":\"", QuotaDimensionName(b.dimension),
                    "\",\"accelerator_type\":");
    AppendJsonString(b.accelerator_type, out);
    absl::StrAppend(out, ",\"usage\":", b.usage, ",\"requested\":", b.requested,
                    ",\"limit\":", b.limit, "}");
  }
  absl::StrAppend(out, "],\"revision\":", admission.revision, "}");
}

std::string BudgetAlertText(const BudgetAlert& a) {
  return absl::StrFormat(
      "budget %s %s %s: %.2f of %.2f credits, crossed %g%% (recipients: %s)",
      a.budget_id, a.period == v1::BUDGET_PERIOD_DAILY ? "DAILY" : "MONTHLY",
      FormatRfc3339(a.period_start), a.spend_credits, a.amount_credits,
      a.threshold_percent,
      a.recipients.empty() ? "none" : absl::StrJoin(a.recipients, ", "));
}

void AppendBudgetAlertJson(const BudgetAlert& a, std::string* out) {
  out->append("{\"budget\":");
  AppendJsonString(a.budget_id, out);
  absl::StrAppend(out, ",\"period\":\"",
                  a.period == v1::BUDGET_PERIOD_DAILY ? "DAILY" : "MONTHLY",
                  "\",\"period_start\":\"", FormatRfc3339(a.period_start),
                  "\",\"threshold_percent\":", a.threshold_percent,
                  ",\"spend_credits\":", a.spend_credits,
                  ",\"amount_credits\":", a.amount_credits,
                  ",\"recipients\":[");
  for (size_t i = 0; i < a.recipients.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(a.recipients[i], out);
  }
  out->append("]}");
}

}  // namespace cli
}  // namespace arbiter
