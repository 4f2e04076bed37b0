// arbiter demo: a guided tour of the built-in demo organization.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/decision_format.h"

namespace arbiter {
namespace cli {
namespace {

// The instant the tour judges expiry at unless --at says otherwise: before
// the demo's expiring grant ends (2027-01-01), so the output never changes.
constexpr absl::string_view kDefaultAt = "2026-12-01T00:00:00Z";
constexpr absl::string_view kAfterExpiry = "2027-02-01T00:00:00Z";

struct Question {
  const char* principal;
  const char* permission;
  const char* resource;
  bool console;
  bool after_expiry;
  const char* why;
};

constexpr Question kQuestions[] = {
    {"alice@acme.com", "project.workload.delete", "prod/ml-prod/nightly-etl",
     false, false, "an org owner is the implicit owner of everything"},
    {"bob@acme.com", "cloud.members.manage", "prod", false, false,
     "a cloud owner manages the cloud's members"},
    {"bob@acme.com", "project.view", "prod/ml-prod", false, false,
     "but a cloud role does not reach private projects"},
    {"frank@acme.com", "project.workload.create", "prod/web", false, false,
     "auto-added collaborator: implicit write on public projects"},
    {"erin@acme.com", "project.workload.create", "prod/ml-prod", false, false,
     "write on ml-prod through the group ml-team"},
    {"kim@acme.com", "project.workload.view", "prod/ml-prod/dave-notebook",
     false, false, "ml-interns is inside ml-team: nested groups count"},
    {"erin@acme.com", "project.workload.delete", "prod/ml-prod/nightly-etl",
     false, false, "writers delete the workloads they created..."},
    {"erin@acme.com", "project.workload.delete", "prod/ml-prod/dave-notebook",
     false, false, "...and only those"},
    {"heidi@acme.com", "project.workload.create", "prod/web", false, false,
     "the deny role cloud_read_only caps public-project access at read-only"},
    {"heidi@acme.com", "org.images.create", "org_123", false, false,
     "the org deny role image_reader subtracts image creation"},
    {"grace@acme.com", "project.view", "research/ml-research", false, false,
     "a time-bounded grant, before it expires..."},
    {"grace@acme.com", "project.view", "research/ml-research", false, true,
     "...and after (2027-02-01)"},
    {"ci@org-123.serviceaccount.com", "project.workload.create", "prod/ml-prod",
     true, false, "service accounts never use the console"},
    {"judy@acme.com", "cloud.view", "prod", false, false,
     "a deleted user holds nothing, whatever her grants"},
    {"mallory@acme.com", "project.view", "prod/web", false, false,
     "an org member without a cloud grant misses the prerequisite"},
    {"carol@acme.com", "project.delete", "prod/default", false, false,
     "nobody deletes a cloud's default project"},
};

struct IamQuestion {
  const char* cloud;
  v1::WorkloadType type;
  const char* project;
  const char* user;
};

constexpr IamQuestion kIamQuestions[] = {
    {"prod", v1::WORKLOAD_TYPE_JOB, "ml-prod", "dave@acme.com"},
    {"prod", v1::WORKLOAD_TYPE_WORKSPACE, "ml-prod", "dave@acme.com"},
    {"prod", v1::WORKLOAD_TYPE_SERVICE, "web", "ci@org-123.serviceaccount.com"},
    {"prod", v1::WORKLOAD_TYPE_WORKSPACE, "web", "alice@acme.com"},
    {"research", v1::WORKLOAD_TYPE_JOB, "ml-research", "grace@acme.com"},
    {"research", v1::WORKLOAD_TYPE_JOB, "default", "grace@acme.com"},
};

int RunDemo(const Command& command, const ParsedArgs& args, const Io& io) {
  if (!args.positional().empty()) {
    return UsageError(command, io, "demo takes no FILE");
  }
  if (args.Has("source")) {
    const absl::string_view text = DemoPolicySetText();
    std::fwrite(text.data(), 1, text.size(), io.out);
    return kExitOk;
  }
  const std::string at_text = args.Get("at", kDefaultAt);
  absl::StatusOr<absl::Time> at = ParseRfc3339(at_text);
  if (!at.ok()) {
    return UsageError(command, io,
                      absl::StrCat("--at: ", at.status().message()));
  }
  const absl::Time after = *ParseRfc3339(kAfterExpiry);

  const v1::PolicySet& s = DemoPolicySet();
  absl::StatusOr<std::unique_ptr<const Engine>> created = Engine::Create(s);
  if (!created.ok()) return InputError(command, io, created.status().message());
  const Engine& engine = **created;
  const DecisionFormatter formatter(engine);

  // Names for the tour.
  std::map<std::string, std::string> names;  // id -> readable name
  for (const auto& o : s.organizations())
    names[o.id()] = absl::StrCat("org ", o.name());
  for (const auto& c : s.clouds())
    names[c.id()] = absl::StrCat("cloud ", c.name());
  for (const auto& p : s.projects())
    names[p.id()] = absl::StrCat("project ", p.name());
  for (const auto& p : s.principals()) names[p.id()] = p.email();
  for (const auto& g : s.groups())
    names[g.id()] = absl::StrCat("group ", g.name());
  auto name_of = [&](const std::string& id) {
    auto it = names.find(id);
    return it == names.end() ? id : it->second;
  };
  auto grant_text = [&](const v1::Grant& g) {
    std::string scope = !g.org_id().empty()     ? g.org_id()
                        : !g.cloud_id().empty() ? g.cloud_id()
                                                : g.project_id();
    std::string text = absl::StrCat(g.role(), " on ", name_of(scope));
    if (g.source() == v1::GRANT_SOURCE_AUTO_ADD)
      absl::StrAppend(&text, " (auto-add)");
    if (g.has_expires_at()) {
      absl::StrAppend(
          &text, " until ",
          FormatRfc3339(absl::FromUnixSeconds(g.expires_at().seconds())));
    }
    return text;
  };

  std::string out;
  const v1::Organization& org = s.organizations(0);
  absl::StrAppend(&out, "Arbiter demo: the built-in organization \"",
                  org.name(), "\" (", org.id(), "), revision ", s.revision(),
                  "\n");
  absl::StrAppend(&out, "  ", s.clouds_size(), " clouds, ", s.projects_size(),
                  " projects, ", s.workloads_size(), " workloads, ",
                  s.principals_size(), " principals, ", s.groups_size(),
                  " groups, ", s.grants_size(), " grants.\n");
  absl::StrAppend(&out, "  Decisions below are judged at ", at_text,
                  " (change it with --at).\n");

  absl::StrAppend(&out, "\nClouds and projects\n");
  for (const auto& c : s.clouds()) {
    absl::StrAppend(&out, "  ", c.name(), " (", c.id(), ")",
                    c.auto_add_users() ? ", auto-adds new users" : "", "\n");
    for (const auto& p : s.projects()) {
      if (p.cloud_id() != c.id()) continue;
      const bool is_public =
          p.is_default() || p.visibility() == v1::VISIBILITY_PUBLIC;
      absl::StrAppend(&out, "    ", p.name(), " (", p.id(), "), ",
                      is_public ? "public" : "private",
                      p.is_default() ? ", the default project" : "", "\n");
      for (const auto& w : s.workloads()) {
        if (w.project_id() == p.id() ||
            (w.project_id().empty() && p.is_default() &&
             w.cloud_id() == c.id())) {
          absl::StrAppend(&out, "      ", w.name(), " (", w.id(), "), ",
                          WorkloadTypeLabel(w.type()), " by ",
                          name_of(w.creator_id()), "\n");
        }
      }
    }
  }

  absl::StrAppend(&out, "\nPeople, groups and grants\n");
  for (const auto& p : s.principals()) {
    std::vector<std::string> parts;
    for (const auto& g : s.grants()) {
      if (g.principal_id() == p.id()) parts.push_back(grant_text(g));
    }
    for (const auto& g : s.groups()) {
      if (std::find(g.member_ids().begin(), g.member_ids().end(), p.id()) !=
          g.member_ids().end()) {
        parts.push_back(absl::StrCat("member of ", name_of(g.id())));
      }
    }
    std::string status;
    if (p.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT)
      status = " [service account]";
    if (p.state() == v1::PRINCIPAL_STATE_INVITED) status = " [invited]";
    if (p.state() == v1::PRINCIPAL_STATE_DELETED) status = " [deleted]";
    absl::StrAppend(&out, "  ", p.email(), status, ": ",
                    parts.empty() ? "no grants (org member only)"
                                  : absl::StrJoin(parts, "; "),
                    "\n");
  }
  for (const auto& g : s.groups()) {
    std::vector<std::string> parts;
    for (const auto& grant : s.grants()) {
      if (grant.group_id() == g.id()) parts.push_back(grant_text(grant));
    }
    std::vector<std::string> members;
    for (const auto& m : g.member_ids()) members.push_back(name_of(m));
    absl::StrAppend(
        &out, "  ", name_of(g.id()),
        " (members: ", absl::StrJoin(members, ", "),
        "): ", parts.empty() ? "no grants" : absl::StrJoin(parts, "; "), "\n");
  }

  absl::StrAppend(&out, "\nQuestions\n");
  int n = 0;
  for (const Question& q : kQuestions) {
    AccessRequest r;
    r.principal = q.principal;
    r.permission = q.permission;
    r.resource = q.resource;
    r.context.channel = q.console ? Channel::kConsole : Channel::kApi;
    r.context.now = q.after_expiry ? after : *at;
    const Decision d = engine.Check(r);
    ++n;
    absl::StrAppend(&out, n < 10 ? "   " : "  ", n, ". ", q.principal, " ",
                    q.permission, " on ", q.resource,
                    q.console ? " (console)" : "", "\n");
    absl::StrAppend(&out, "      ", formatter.Text(d), "\n");
    absl::StrAppend(&out, "      ", q.why, "\n");
  }
  const Question& example = kQuestions[8];
  absl::StrAppend(
      &out, "\n  Ask your own, or see why (every grant considered):\n",
      "    arbiter check --demo --principal ", example.principal,
      " --permission ", example.permission, " --resource ", example.resource,
      "\n", "    arbiter explain --demo --principal ", example.principal,
      " --permission ", example.permission, " --resource ", example.resource,
      "\n");

  absl::StrAppend(&out,
                  "\nCloud IAM mapping: the identity a workload runs with\n");
  for (const auto& c : s.clouds()) {
    const v1::IamMapping& m = c.iam_mapping();
    absl::StrAppend(
        &out, "  ", c.name(), ", first match wins, otherwise ",
        m.default_behavior() == v1::IamMapping::FAIL
            ? "FAIL (the workload does not start)"
            : absl::StrCat("the default identity ", m.default_identity()),
        "\n");
    for (int i = 0; i < m.rules_size(); ++i) {
      absl::StrAppend(&out, "    rule ", i, ": [", m.rules(i).selector(),
                      "] -> ", m.rules(i).identity(), "\n");
    }
  }
  absl::StrAppend(&out, "\n");
  for (const IamQuestion& q : kIamQuestions) {
    WorkloadAttributes w;
    w.cloud = q.cloud;
    w.type = q.type;
    w.project = q.project;
    w.user = q.user;
    const IamDecision d = engine.ResolveIam(w);
    absl::StrAppend(
        &out, "  ", WorkloadTypeLabel(q.type), " in ", q.cloud, "/", q.project,
        " by ", q.user, "\n      ", IamOutcomeName(d.outcome),
        d.identity.empty() ? "" : absl::StrCat(" ", d.identity), " (",
        IamReasonName(d.reason),
        d.rule_index >= 0 ? absl::StrCat(", rule ", d.rule_index) : "", ")\n");
  }
  absl::StrAppend(&out,
                  "\n  See which rules were tried and why each did not match:\n"
                  "    arbiter iam --demo --cloud prod --type workspace "
                  "--project web --user alice@acme.com\n");

  absl::StrAppend(
      &out,
      "\nNext\n"
      "  arbiter demo --source > acme.textproto   the demo as a commented "
      "file\n"
      "  arbiter validate acme.textproto           check your edits\n"
      "  arbiter profile                           every role and permission\n"
      "  arbiter check acme.textproto --queries requests.jsonl\n"
      "  arbiter test acme_test.textproto          pin decisions in CI\n");
  std::fwrite(out.data(), 1, out.size(), io.out);
  return kExitOk;
}

}  // namespace

const Command& DemoCommand() {
  static const Command* const command = new Command{
      "demo",
      "arbiter demo [--at TIME] [--source]",
      "walk through the built-in demo organization",
      "Introduces the built-in demo organization \"acme\": its clouds,\n"
      "projects, people and grants; a series of access questions with their\n"
      "decisions and the reason behind each; its cloud IAM mapping; and the\n"
      "commands to try next. Decisions are judged at 2026-12-01T00:00:00Z\n"
      "unless --at says otherwise. --source prints the demo's policy file\n"
      "(protobuf text format, with comments) to start your own from.\n",
      {DemoFlag(),
       {"at", 0, FlagSpec::kValue, "TIME",
        "judge grant expiry at this RFC 3339 instant (default "
        "2026-12-01T00:00:00Z)"},
       {"source", 0, FlagSpec::kBool, "",
        "print the demo organization's policy file"}},
      &RunDemo};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
