// arbiter check (FILE | --demo | --store DIR) --principal P --permission X
//     --resource R
// arbiter check (FILE | --demo | --store DIR) --queries FILE|-

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/decision_format.h"
#include "tools/query_runner.h"
#include "tools/suggest.h"
#ifdef ARBITER_HAVE_STORE
#include "tools/store_cli.h"
#endif

namespace arbiter {
namespace cli {
namespace {

// The --stats line that counts the decisions on requests that named what
// the state lacks (each row still carries its DENY).
void PrintUnresolvedStats(const QueryStats& stats, const Io& io) {
  std::fprintf(io.err,
               "unknown: %llu of %llu decisions named what the state lacks "
               "(principals: %llu, ambiguous emails: %llu, permissions: %llu, "
               "resources: %llu, organizations: %llu)\n",
               static_cast<unsigned long long>(stats.unresolved()),
               static_cast<unsigned long long>(stats.decisions),
               static_cast<unsigned long long>(stats.unknown_principals),
               static_cast<unsigned long long>(stats.ambiguous_principals),
               static_cast<unsigned long long>(stats.unknown_permissions),
               static_cast<unsigned long long>(stats.unknown_resources),
               static_cast<unsigned long long>(stats.unknown_orgs));
}

int RunQueryStream(const Command& command, const ParsedArgs& args, const Io& io,
                   const Compiled& compiled, const RequestArgs& request) {
  const std::string path = args.Get("queries");
  int fd = io.in_fd;
  if (path != "-") {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return InputError(command, io,
                        absl::StrCat(path, ": ", std::strerror(errno)));
    }
  }
  QueryDefaults defaults;
  defaults.org = request.org;
  defaults.channel = request.channel;
  defaults.at = request.at;
  QueryStats stats;
  std::fflush(io.out);  // the loop writes to the descriptor directly
  absl::Status status =
      RunQueries(*compiled.engine, fd, io.out_fd, defaults, &stats);
  if (fd != io.in_fd) close(fd);
  if (args.Has("stats")) {
    PrintLoadStats(compiled, io);
    PrintDecideStats(stats.decisions, stats.elapsed, stats.cpu, io);
    PrintUnresolvedStats(stats, io);
  }
  if (!status.ok()) {
    return InputError(command, io,
                      path == "-" ? status.message()
                                  : absl::StrCat(path, ": ", status.message()));
  }
  if (stats.malformed > 0) {
    return InputError(
        command, io,
        absl::StrCat(stats.malformed, " of ", stats.lines,
                     " queries were malformed (first at line ",
                     stats.first_malformed_line, ": ", stats.first_error, ")"));
  }
  return kExitOk;
}

// The last committed state of the durable store in `dir` (--store).
absl::StatusOr<Compiled> LoadFromStore(const std::string& dir,
                                       const StateArgs& state) {
#ifdef ARBITER_HAVE_STORE
  return LoadStoreAndCompile(dir, state);
#else
  return absl::FailedPreconditionError(
      "--store: this arbiter was built without the durable store (configure "
      "with -DARBITER_WITH_STORE=ON)");
#endif
}

int RunCheck(const Command& command, const ParsedArgs& args, const Io& io) {
  const bool from_store = args.Has("store");
  absl::StatusOr<StateArgs> state =
      from_store ? GetStateFlags(args) : GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  if (from_store && (state->demo || !args.positional().empty())) {
    return UsageError(command, io,
                      "--store replaces FILE and --demo; give one of them");
  }
  const bool stream = args.Has("queries");
  if (stream && (args.Has("principal") || args.Has("permission") ||
                 args.Has("resource"))) {
    return UsageError(command, io,
                      "--queries replaces --principal, --permission and "
                      "--resource; give one or the other");
  }
  if (stream && args.Get("queries") == "-" && state->path == "-") {
    return UsageError(command, io,
                      "the state and the queries cannot both come from "
                      "standard input");
  }
  absl::StatusOr<RequestArgs> request = GetRequestArgs(args, !stream);
  if (!request.ok()) return UsageError(command, io, request.status().message());

  absl::StatusOr<Compiled> compiled =
      from_store ? LoadFromStore(args.Get("store"), *state)
                 : LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());
  if (stream) return RunQueryStream(command, args, io, *compiled, *request);

  const absl::Duration cpu0 = ThreadCpuTime();
  const absl::Time start = absl::Now();
  const Decision d = compiled->engine->Check(request->ToRequest());
  const absl::Duration elapsed = absl::Now() - start;
  const absl::Duration cpu = ThreadCpuTime() - cpu0;
  const DecisionFormatter formatter(*compiled->engine);
  if (args.Has("json")) {
    std::string line;
    formatter.AppendJson(d, "", &line);
    std::fputs(line.c_str(), io.out);
  } else if (!args.Has("quiet")) {
    std::fprintf(io.out, "%s\n", formatter.Text(d).c_str());
  }
  if (args.Has("stats")) {
    PrintLoadStats(*compiled, io);
    PrintDecideStats(1, elapsed, cpu, io);
  }
  // A request that names what the state lacks is bad input, not a DENY to
  // act on: say what, with the closest known names, and exit 2.
  if (IsUnresolved(d.reason)) {
    return InputError(
        command, io,
        DescribeUnresolved(*compiled->engine, compiled->loaded.state,
                           request->ToRequest(), d, "--org"));
  }
  return d.allowed() ? kExitOk : kExitDenied;
}

std::vector<FlagSpec> CheckFlags() {
  std::vector<FlagSpec> flags = {DemoFlag(), FormatFlag(), MaxBytesFlag(),
                                 OptionFlag()};
  flags.push_back({"store", 0, FlagSpec::kValue, "DIR",
                   "decide on the last committed state of the durable store "
                   "in DIR (read-only), instead of a FILE"});
  for (const FlagSpec& f : RequestFlags()) flags.push_back(f);
  flags.push_back({"queries", 0, FlagSpec::kValue, "FILE",
                   "decide every JSON Lines request of FILE ('-': standard "
                   "input)"});
  flags.push_back(
      {"json", 0, FlagSpec::kBool, "", "print the decision as a JSON object"});
  flags.push_back({"quiet", 'q', FlagSpec::kBool, "",
                   "print nothing; the exit code is the answer"});
  flags.push_back(StatsFlag());
  return flags;
}

}  // namespace

const Command& CheckCommand() {
  static const Command* const command = new Command{
      "check",
      "arbiter check (FILE | --demo | --store DIR) --principal P --permission "
      "X\n"
      "             --resource R [flags]\n"
      "       arbiter check (FILE | --demo | --store DIR) --queries FILE|- "
      "[flags]",
      "decide one request, or a JSON Lines stream of requests",
      "Decides whether a principal (an email or an id) holds a permission on "
      "a\n"
      "resource (an id, or a cloud[/project[/workload]] path of names) and\n"
      "prints the decision: the effect, the reason code, the deciding grant\n"
      "and its source, the implicit rule behind the reason, and the state's\n"
      "revision:\n"
      "\n"
      "  ALLOW GRANT grant=g_carol_web_owner source=DIRECT revision=1\n"
      "\n"
      "Exits 0 on ALLOW and 1 on DENY. A request that names an unknown\n"
      "principal, permission, resource or organization (or an email that\n"
      "several organizations share) prints its DENY, says on stderr what is\n"
      "unknown and the closest known names, and exits 2.\n"
      "\n"
      "With --queries, reads one JSON object per line,\n"
      "  {\"id\":1,\"principal\":\"...\",\"permission\":\"...\","
      "\"resource\":\"...\",\n"
      "   \"org\":\"...\",\"channel\":\"console\","
      "\"at\":\"2026-12-01T00:00:00Z\"}\n"
      "(id, org, channel and at optional; --org, --channel and --at give "
      "their\n"
      "defaults) and writes one JSON decision per line, in order:\n"
      "  {\"id\":1,\"effect\":\"ALLOW\",\"reason\":\"GRANT\",\"grant\":\"g_1\","
      "\"source\":\"DIRECT\",\n"
      "   \"rule\":null,\"revision\":1}\n"
      "A malformed line gets {\"id\":...,\"line\":N,\"error\":\"...\"}; the "
      "others are\nstill decided, and the command then exits 2. Blank lines "
      "are skipped.\nOtherwise it exits 0, whatever the decisions; requests "
      "naming unknown\nthings get their DENY row, and --stats counts them.\n",
      CheckFlags(),
      &RunCheck};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
