// arbiter explain (FILE | --demo) --principal P --permission X --resource R

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/explanation.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/decision_format.h"
#include "tools/names.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

void AppendField(absl::string_view key, absl::string_view value,
                 std::string* out) {
  absl::StrAppend(out, ",\"", key, "\":");
  AppendJsonString(value, out);
}

void AppendBool(absl::string_view key, bool value, std::string* out) {
  absl::StrAppend(out, ",\"", key, "\":", value ? "true" : "false");
}

void AppendStrings(absl::string_view key, const std::vector<std::string>& v,
                   std::string* out) {
  absl::StrAppend(out, ",\"", key, "\":[");
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(v[i], out);
  }
  out->push_back(']');
}

std::string ExplanationJson(const Explanation& e,
                            const DecisionFormatter& formatter) {
  std::string decision;
  formatter.AppendJson(e.decision, "", &decision);
  decision.pop_back();  // "}\n"
  decision.pop_back();
  std::string out = decision;
  AppendField("principal", e.principal_id, &out);
  AppendField("permission", e.permission, &out);
  AppendField("resource", e.resource_id, &out);
  AppendField("anchor", e.anchor_id, &out);
  AppendStrings("groups", e.groups, &out);
  AppendStrings("steps", e.steps, &out);
  out.append(",\"grants\":[");
  for (size_t i = 0; i < e.grants.size(); ++i) {
    const ConsideredGrant& g = e.grants[i];
    if (i > 0) out.push_back(',');
    out.append("{\"id\":");
    AppendJsonString(g.grant_id, &out);
    AppendField("subject", g.subject_id, &out);
    AppendBool("via_group", g.via_group, &out);
    AppendField("role", g.role, &out);
    AppendField("scope", g.scope_id, &out);
    AppendField("scope_type", g.scope_type, &out);
    AppendBool("deny_role", g.deny_role, &out);
    AppendBool("live", g.live, &out);
    AppendBool("matches_permission", g.matches_permission, &out);
    AppendField("note", g.note, &out);
    out.push_back('}');
  }
  out.append("]}\n");
  return out;
}

int RunExplain(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  absl::StatusOr<RequestArgs> request = GetRequestArgs(args, true);
  if (!request.ok()) return UsageError(command, io, request.status().message());
  absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());

  const Engine& engine = *compiled->engine;
  const Explanation e = engine.Explain(request->ToRequest());
  const DecisionFormatter formatter(engine);
  if (args.Has("json")) {
    std::fputs(ExplanationJson(e, formatter).c_str(), io.out);
  } else {
    std::fprintf(
        io.out, "request: %s %s on %s (%s%s)\n", request->principal.c_str(),
        request->permission.c_str(), request->resource.c_str(),
        request->channel == Channel::kConsole ? "console" : "api",
        request->at.has_value()
            ? absl::StrCat(", at ", FormatRfc3339(*request->at)).c_str()
            : "");
    std::fputs(e.ToString().c_str(), io.out);
    const absl::string_view rule = formatter.Rule(e.decision.reason);
    if (!rule.empty()) {
      std::fprintf(
          io.out, "  implicit rule %s: %s\n", std::string(rule).c_str(),
          std::string(RuleDescription(rule, engine.profile())).c_str());
    }
  }
  if (args.Has("stats")) PrintLoadStats(*compiled, io);
  return e.decision.allowed() ? kExitOk : kExitDenied;
}

std::vector<FlagSpec> ExplainFlags() {
  std::vector<FlagSpec> flags = {DemoFlag(), FormatFlag(), MaxBytesFlag(),
                                 OptionFlag()};
  for (const FlagSpec& f : RequestFlags()) flags.push_back(f);
  flags.push_back({"json", 0, FlagSpec::kBool, "",
                   "print the explanation as a JSON object"});
  flags.push_back(StatsFlag());
  return flags;
}

}  // namespace

const Command& ExplainCommand() {
  static const Command* const command = new Command{
      "explain",
      "arbiter explain (FILE | --demo) --principal P --permission X "
      "--resource R [flags]",
      "show, step by step, how a request is decided",
      "Decides the request exactly as 'arbiter check' does and shows how: the\n"
      "principal and its groups, the level the permission is evaluated at,\n"
      "every grant on the resource's path (live or expired, allow or deny),\n"
      "which one decided, which deny role subtracted, which prerequisite was\n"
      "missing, and the implicit rule behind the reason.\n"
      "\n"
      "Exits 0 on ALLOW and 1 on DENY.\n",
      ExplainFlags(),
      &RunExplain};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
