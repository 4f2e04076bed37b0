// arbiter iam (FILE | --demo) --cloud C --type T [--project P] [--user U]

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/iam_mapping.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

std::string IamJson(const IamExplanation& e) {
  const IamDecision& d = e.decision;
  std::string out = "{\"outcome\":\"";
  absl::StrAppend(&out, IamOutcomeName(d.outcome), "\",\"reason\":\"",
                  IamReasonName(d.reason), "\",\"identity\":");
  if (d.identity.empty()) {
    out.append("null");
  } else {
    AppendJsonString(d.identity, &out);
  }
  absl::StrAppend(&out, ",\"rule_index\":");
  if (d.rule_index >= 0) {
    absl::StrAppend(&out, d.rule_index);
  } else {
    out.append("null");
  }
  absl::StrAppend(&out, ",\"revision\":", d.revision, ",\"cloud\":");
  AppendJsonString(e.cloud_id, &out);
  out.append(",\"project\":");
  AppendJsonString(e.project_name, &out);
  out.append(",\"user\":");
  AppendJsonString(e.user, &out);
  out.append(",\"workload_type\":");
  AppendJsonString(e.workload_type, &out);
  out.append(",\"compute_config\":");
  AppendJsonString(e.compute_config_id, &out);
  out.append(",\"compute_config_identity\":");
  AppendJsonString(e.compute_config_identity, &out);
  out.append(",\"rules\":[");
  for (size_t i = 0; i < e.rules.size(); ++i) {
    const IamRuleTrace& r = e.rules[i];
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, "{\"index\":", r.rule_index, ",\"selector\":");
    AppendJsonString(r.selector, &out);
    out.append(",\"identity\":");
    AppendJsonString(r.identity, &out);
    absl::StrAppend(&out, ",\"matched\":", r.matched ? "true" : "false",
                    ",\"failed_requirement\":");
    AppendJsonString(r.failed_requirement, &out);
    out.push_back('}');
  }
  out.append("]}\n");
  return out;
}

// Why `cloud`, given without --org, did not resolve although some cloud has
// that name: with several organizations a cloud name needs an organization
// (the library's rule), which the user must choose when several have a cloud
// of that name. Empty when no cloud has the name.
std::string CloudNameNeedsOrg(const v1::PolicySet& state,
                              absl::string_view cloud) {
  if (state.organizations_size() < 2) return "";
  std::vector<std::string> orgs;  // "acme" (org_acme)
  std::vector<std::string> ids;   // the clouds' ids
  std::string org_flag;           // the --org value when only one fits
  for (const v1::Cloud& c : state.clouds()) {
    if (c.name() != cloud) continue;
    absl::string_view org_name;
    for (const v1::Organization& o : state.organizations()) {
      if (o.id() == c.org_id()) org_name = o.name();
    }
    orgs.push_back(org_name.empty()
                       ? absl::StrCat("\"", c.org_id(), "\"")
                       : absl::StrCat("\"", org_name, "\" (", c.org_id(), ")"));
    ids.push_back(c.id());
    org_flag = org_name.empty() ? c.org_id() : std::string(org_name);
  }
  if (orgs.empty()) return "";
  if (orgs.size() == 1) {
    return absl::StrCat(
        "cloud name \"", cloud, "\" needs --org: the state has ",
        state.organizations_size(),
        " organizations; the cloud of that name is in ", orgs[0],
        " (pass --org ", org_flag, " or the cloud id ", ids[0], ")");
  }
  const std::string last = orgs.back();
  orgs.pop_back();
  return absl::StrCat("cloud name \"", cloud, "\" is ambiguous: organizations ",
                      absl::StrJoin(orgs, ", "), " and ", last,
                      " each have a cloud of that name; pass --org ID|NAME, "
                      "or a cloud id (",
                      absl::StrJoin(ids, ", "), ")");
}

int RunIam(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  const std::string cloud = args.Get("cloud");
  if (cloud.empty()) return UsageError(command, io, "missing --cloud");
  if (!args.Has("type")) return UsageError(command, io, "missing --type");
  absl::StatusOr<v1::WorkloadType> type = ParseWorkloadType(args.Get("type"));
  if (!type.ok()) {
    return UsageError(command, io,
                      absl::StrCat("--type: ", type.status().message()));
  }
  if (args.Has("json") && args.Has("identity-only")) {
    return UsageError(command, io,
                      "--json and --identity-only exclude each other");
  }
  absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());

  const std::string org = args.Get("org");
  const std::string project = args.Get("project");
  const std::string user = args.Get("user");
  const std::string compute_config = args.Get("compute-config");
  WorkloadAttributes w;
  w.cloud = cloud;
  w.org = org;
  w.type = *type;
  w.project = project;
  w.user = user;
  w.compute_config = compute_config;
  const IamExplanation e = compiled->engine->ExplainIam(w);
  const IamDecision& d = e.decision;
  if (d.reason == IamReason::kUnknownCloud && org.empty()) {
    // Not an unknown cloud but an incomplete request: say so (and nothing
    // on stdout), and exit 2.
    const std::string problem =
        CloudNameNeedsOrg(compiled->loaded.state, cloud);
    if (!problem.empty()) return InputError(command, io, problem);
  }
  if (args.Has("identity-only")) {
    if (!d.identity.empty()) {
      std::fprintf(io.out, "%s\n", std::string(d.identity).c_str());
    }
  } else if (args.Has("json")) {
    std::fputs(IamJson(e).c_str(), io.out);
  } else {
    std::fputs(e.ToString().c_str(), io.out);
  }
  if (args.Has("stats")) PrintLoadStats(*compiled, io);
  return d.outcome == IamOutcome::kFail ? kExitDenied : kExitOk;
}

}  // namespace

const Command& IamCommand() {
  static const Command* const command = new Command{
      "iam",
      "arbiter iam (FILE | --demo) --cloud C --type T [--project P] "
      "[--user EMAIL|ID] [flags]",
      "resolve the cloud identity a workload runs with, and why",
      "Applies the cloud's IAM mapping to a workload being launched: the\n"
      "first rule whose selector matches wins; when none matches, the cloud's\n"
      "default behaviour applies (its default identity, or FAIL). Prints the\n"
      "outcome (MAPPED, CLOUD_DEFAULT or FAIL), the identity, the reason and,\n"
      "for every rule up to the matching one, the first requirement that did\n"
      "not hold.\n"
      "\n"
      "The user must be an active principal of the cloud's organization, by\n"
      "email or id: anyone else is FAIL (UNKNOWN_PRINCIPAL, "
      "PRINCIPAL_DELETED,\n"
      "PRINCIPAL_INVITED, CROSS_ORG), unless --option\n"
      "iam_match_unknown_users=true lets an email no principal holds reach\n"
      "the rules.\n"
      "\n"
      "Exits 0 when an identity was chosen and 1 on FAIL (the workload must\n"
      "not start). --identity-only prints just the identity, for scripts.\n"
      "In a state with several organizations a cloud name needs --org; when\n"
      "it is missing, the command says so on stderr, naming the\n"
      "organizations that have a cloud of that name, and exits 2.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"cloud", 0, FlagSpec::kValue, "ID|NAME", "the workload's cloud"},
       {"type", 0, FlagSpec::kValue, "TYPE",
        "job, service, workspace or cluster"},
       {"project", 0, FlagSpec::kValue, "ID|NAME",
        "the workload's project (default: the cloud's default project)"},
       {"user", 0, FlagSpec::kValue, "EMAIL|ID",
        "the launching user or service account"},
       {"compute-config", 0, FlagSpec::kValue, "ID",
        "the workload's compute config (its IAM identity may override)"},
       {"org", 0, FlagSpec::kValue, "ID|NAME",
        "the organization, for cloud names"},
       {"json", 0, FlagSpec::kBool, "", "print the result as a JSON object"},
       {"identity-only", 0, FlagSpec::kBool, "",
        "print only the identity (nothing on FAIL)"},
       StatsFlag()},
      &RunIam};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
