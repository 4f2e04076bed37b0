// arbiter diff BEFORE AFTER [--no-new-access] [--json]
// arbiter diff --demo AFTER ...
//
// The access two states give, compared (arbiter::DiffPolicies): every
// (principal, resource) whose permissions differ, or with --no-new-access
// only whether AFTER allows anything BEFORE did not (a CI gate, exit 1).

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/lookup.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/proto_json.h"

namespace arbiter {
namespace cli {
namespace {

// People's names for the objects of a state: cloud[/project[/workload]]
// paths, organization, compute config and image names; principal emails.
struct StateNames {
  absl::flat_hash_map<std::string, std::string> resources;
  absl::flat_hash_map<std::string, std::string> emails;

  void Add(const v1::PolicySet& state) {
    absl::flat_hash_map<std::string, std::string> default_project;
    for (const v1::Organization& o : state.organizations()) {
      resources.emplace(o.id(), o.name());
    }
    absl::flat_hash_map<std::string, std::string> paths;
    for (const v1::Cloud& c : state.clouds()) paths[c.id()] = c.name();
    for (const v1::Project& p : state.projects()) {
      paths[p.id()] = absl::StrCat(paths[p.cloud_id()], "/", p.name());
      if (p.is_default()) default_project[p.cloud_id()] = p.id();
    }
    for (const v1::Workload& w : state.workloads()) {
      const std::string& project = w.project_id().empty()
                                       ? default_project[w.cloud_id()]
                                       : w.project_id();
      paths[w.id()] = absl::StrCat(paths[project], "/", w.name());
    }
    for (const v1::ComputeConfig& c : state.compute_configs()) {
      paths[c.id()] = c.name();
    }
    for (const v1::Image& i : state.images()) paths[i.id()] = i.name();
    for (auto& [id, path] : paths) resources.emplace(id, std::move(path));
    for (const v1::Principal& p : state.principals()) {
      emails.emplace(p.id(), p.email());
    }
  }
  std::string Resource(const std::string& id) const {
    auto it = resources.find(id);
    return it == resources.end() || it->second.empty()
               ? id
               : absl::StrCat(id, " (", it->second, ")");
  }
  std::string Principal(const std::string& id) const {
    auto it = emails.find(id);
    return it == emails.end() || it->second.empty()
               ? id
               : absl::StrCat(id, " <", it->second, ">");
  }
};

// The ids of every resource of a state.
absl::flat_hash_set<std::string> ResourceIds(const v1::PolicySet& state) {
  absl::flat_hash_set<std::string> ids;
  for (const auto& o : state.organizations()) ids.insert(o.id());
  for (const auto& c : state.clouds()) ids.insert(c.id());
  for (const auto& p : state.projects()) ids.insert(p.id());
  for (const auto& w : state.workloads()) ids.insert(w.id());
  for (const auto& c : state.compute_configs()) ids.insert(c.id());
  for (const auto& i : state.images()) ids.insert(i.id());
  return ids;
}

std::string TimestampText(const google::protobuf::Timestamp& t) {
  return FormatRfc3339(absl::FromUnixSeconds(t.seconds()) +
                       absl::Nanoseconds(t.nanos()));
}

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

int RunDiff(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> flags = GetStateFlags(args);
  if (!flags.ok()) return UsageError(command, io, flags.status().message());
  const std::vector<std::string>& positional = args.positional();
  StateArgs before = *flags, after = *flags;
  before.demo = after.demo = false;
  if (flags->demo) {
    if (positional.size() != 1) {
      return UsageError(command, io,
                        absl::StrCat("with --demo (the BEFORE state), give one "
                                     "AFTER file; got ",
                                     positional.size()));
    }
    before.demo = true;
    after.path = positional[0];
  } else {
    if (positional.size() != 2) {
      return UsageError(command, io,
                        absl::StrCat("give two files, BEFORE and AFTER (or "
                                     "--demo and AFTER); got ",
                                     positional.size()));
    }
    before.path = positional[0];
    after.path = positional[1];
    if (before.path == "-" && after.path == "-") {
      return UsageError(command, io,
                        "BEFORE and AFTER cannot both come from standard "
                        "input");
    }
  }
  const bool gate = args.Has("no-new-access");
  DiffOptions options;
  options.only_new_access = gate;
  if (args.Has("max-witnesses")) {
    if (!gate) {
      return UsageError(command, io,
                        "--max-witnesses belongs to --no-new-access");
    }
    const std::string text = args.Get("max-witnesses");
    uint32_t n = 0;
    if (text.empty() || text.size() > 7 ||
        !std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(text, &n) || n == 0) {
      return UsageError(command, io,
                        absl::StrCat("--max-witnesses: \"", OneLine(text),
                                     "\" is not a whole number from 1 to "
                                     "9999999"));
    }
    options.max_witnesses = n;
  }
  if (args.Has("channel")) {
    absl::StatusOr<Channel> channel = ParseChannel(args.Get("channel"));
    if (!channel.ok()) {
      return UsageError(
          command, io, absl::StrCat("--channel: ", channel.status().message()));
    }
    options.channel = *channel;
  }
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return UsageError(command, io, at.status().message());
  options.now = *at;

  absl::StatusOr<Compiled> a = LoadAndCompile(before);
  if (!a.ok()) return InputError(command, io, a.status().message());
  absl::StatusOr<Compiled> b = LoadAndCompile(after);
  if (!b.ok()) return InputError(command, io, b.status().message());
  const absl::Duration cpu0 = ThreadCpuTime();
  const absl::Time t0 = absl::Now();
  const std::unique_ptr<const Lookup> la = Lookup::Create(*a->engine);
  const std::unique_ptr<const Lookup> lb = Lookup::Create(*b->engine);
  const absl::Time t1 = absl::Now();
  absl::StatusOr<v1::PolicyDiff> diff = DiffPolicies(*la, *lb, options);
  const absl::Time t2 = absl::Now();
  const absl::Duration cpu = ThreadCpuTime() - cpu0;
  if (!diff.ok()) {
    return InputError(command, io, diff.status().message());
  }

  std::string out;
  if (args.Has("json")) {
    if (absl::Status st = AppendProtoJson(*diff, &out); !st.ok()) {
      return InputError(command, io, st.message());
    }
    out.push_back('\n');
  } else {
    StateNames names;
    names.Add(b->loaded.state);
    names.Add(a->loaded.state);
    const std::string header = absl::StrCat(
        "before: ", a->loaded.name, " (revision ", diff->before_revision(),
        "), after: ", b->loaded.name, " (revision ", diff->after_revision(),
        "), at ", TimestampText(diff->at()), "\n");
    out = header;
    if (gate) {
      if (!diff->new_access()) {
        absl::StrAppend(&out, "no new access: ", b->loaded.name,
                        " allows nothing that ", a->loaded.name, " does not\n");
      } else {
        absl::StrAppend(&out, "NEW ACCESS: ", b->loaded.name, " allows what ",
                        a->loaded.name, " does not; witnesses (at most ",
                        options.max_witnesses, "):\n");
        for (const v1::AccessWitness& w : diff->witnesses()) {
          absl::StrAppend(
              &out, "  ", names.Principal(w.principal_id()), " ",
              w.permission(), " on ", names.Resource(w.resource_id()), ": ",
              w.reason(),
              w.grant_id().empty() ? "" : absl::StrCat(" grant=", w.grant_id()),
              "\n");
        }
      }
    } else {
      for (const v1::AccessChange& c : diff->changes()) {
        absl::StrAppend(&out, names.Principal(c.principal_id()), " on ",
                        c.resource_kind(), " ", names.Resource(c.resource_id()),
                        "\n");
        for (const std::string& p : c.gained()) {
          absl::StrAppend(&out, "  + ", p, "\n");
        }
        for (const std::string& p : c.lost()) {
          absl::StrAppend(&out, "  - ", p, "\n");
        }
      }
      const v1::PolicyDiff::Summary& s = diff->summary();
      absl::StrAppend(
          &out, Plural(s.changes(), "change", "changes"), " for ",
          Plural(s.principals(), "principal", "principals"), ": ",
          Plural(s.gained(), "permission", "permissions"), " gained, ",
          s.lost(), " lost; new access: ", diff->new_access() ? "yes" : "no",
          "\n", "resources added ", s.resources_added(), ", removed ",
          s.resources_removed(), "; principals added ", s.principals_added(),
          ", removed ", s.principals_removed(), "; compared ",
          Plural(diff->principals_compared(), "principal", "principals"),
          " in full, ", diff->principals_unchanged(), " unchanged\n");
    }
  }
  std::fputs(out.c_str(), io.out);
  // What the diff does not list, said where a gate's log shows it. The
  // full diff counts such resources (by id and place); the gate does not,
  // so the command counts them by id.
  uint64_t added = diff->summary().resources_added();
  uint64_t removed = diff->summary().resources_removed();
  if (gate) {
    const absl::flat_hash_set<std::string> ids_a = ResourceIds(a->loaded.state);
    const absl::flat_hash_set<std::string> ids_b = ResourceIds(b->loaded.state);
    added = removed = 0;
    for (const std::string& id : ids_b) added += !ids_a.contains(id);
    for (const std::string& id : ids_a) removed += !ids_b.contains(id);
  }
  if (added > 0 || removed > 0) {
    std::fprintf(io.err,
                 "arbiter diff: note: %s only in %s and %s only in %s: any "
                 "access to an organization, cloud or project of AFTER only "
                 "is new access (witnessed, not listed as changes)\n",
                 Plural(added, "resource", "resources").c_str(),
                 b->loaded.name.c_str(),
                 Plural(removed, "resource", "resources").c_str(),
                 a->loaded.name.c_str());
  }
  if (args.Has("stats")) {
    PrintLoadStats(*a, io);
    PrintLoadStats(*b, io);
    std::fprintf(io.err,
                 "index:   %10.3f ms wall  (both states)\n"
                 "diff:    %10.3f ms wall  (index and diff: %.3f ms cpu)\n",
                 absl::ToDoubleMilliseconds(t1 - t0),
                 absl::ToDoubleMilliseconds(t2 - t1),
                 absl::ToDoubleMilliseconds(cpu));
  }
  return gate && diff->new_access() ? kExitDenied : kExitOk;
}

}  // namespace

const Command& DiffCommand() {
  static const Command* const command = new Command{
      "diff",
      "arbiter diff BEFORE AFTER [--no-new-access] [flags]\n"
      "       arbiter diff --demo AFTER [--no-new-access] [flags]",
      "compare the access two states give; gate on new access (CI)",
      "Compares the access the two states give (principals matched by id,\n"
      "resources by id, permissions by name) and prints every principal and\n"
      "resource whose permissions differ, with the permissions gained (+) "
      "and\n"
      "lost (-), then a summary. Every (principal, permission, resource)\n"
      "triple is covered exactly: a compute config decides as its cloud, an\n"
      "image as its organization, a workload the principal did not create "
      "as\n"
      "its project. Both states are compiled with the same --option flags "
      "and\n"
      "judged at one instant (--at, else now). With --demo, BEFORE is the "
      "demo\n"
      "organization.\n"
      "\n"
      "--no-new-access answers only whether AFTER allows anything BEFORE "
      "did\n"
      "not, with the first witnesses (--max-witnesses, default 10): exit 1 "
      "when\n"
      "it does, 0 when it does not. Otherwise exits 0 whatever the changes.\n"
      "Exits 2 on a usage error or a state that cannot be loaded or "
      "compiled.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"no-new-access", 0, FlagSpec::kBool, "",
        "only answer whether AFTER allows anything BEFORE did not (exit 1 "
        "if so)"},
       {"max-witnesses", 0, FlagSpec::kValue, "N",
        "with --no-new-access: print at most N witnesses (default 10)"},
       {"channel", 0, FlagSpec::kValue, "api|console",
        "judge both states for this channel (default api)"},
       AtFlag(),
       {"json", 0, FlagSpec::kBool, "",
        "print the arbiter.v1.PolicyDiff message as JSON"},
       StatsFlag()},
      &RunDiff};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
