#include "tools/command.h"

#include <time.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli_options.h"

namespace arbiter {
namespace cli {

std::string CommandHelp(const Command& command) {
  std::string out =
      absl::StrCat("Usage: ", command.usage, "\n\n", command.description, "\n");
  std::vector<FlagSpec> flags = command.flags;
  flags.push_back({"help", 'h', FlagSpec::kBool, "", "show this help"});
  absl::StrAppend(&out, "Flags:\n", FlagsHelp(flags));
  absl::StrAppend(&out,
                  "\nExit codes: 0 success/allow, 1 deny/invalid/failed, "
                  "2 usage or input error.\n");
  return out;
}

int UsageError(const Command& command, const Io& io,
               absl::string_view message) {
  std::fprintf(io.err, "arbiter %s: %s (see 'arbiter %s --help')\n",
               command.name, OneLine(message).c_str(), command.name);
  return kExitUsage;
}

int InputError(const Command& command, const Io& io,
               absl::string_view message) {
  std::fprintf(io.err, "arbiter %s: %s\n", command.name,
               OneLine(message).c_str());
  return kExitUsage;
}

FlagSpec DemoFlag() {
  return {"demo", 0, FlagSpec::kBool, "",
          "use the built-in demo organization instead of a FILE"};
}
FlagSpec FormatFlag() {
  return {"format", 'f', FlagSpec::kValue, "FORMAT",
          "input format: text, json or binary (default: by extension, else "
          "by content)"};
}
FlagSpec MaxBytesFlag() {
  return {"max-bytes", 0, FlagSpec::kValue, "SIZE",
          "refuse inputs larger than SIZE (default 256M; K, M, G suffixes)"};
}
FlagSpec OptionFlag() {
  return {"option", 'O', FlagSpec::kRepeated, "KEY=VALUE",
          "an engine option ('arbiter help options' lists them)"};
}
FlagSpec AtFlag() {
  return {"at", 0, FlagSpec::kValue, "TIME",
          "judge grant expiry at this RFC 3339 instant (default: now)"};
}
FlagSpec StatsFlag() {
  return {"stats", 0, FlagSpec::kBool, "",
          "print load, compile and decision timings to stderr"};
}

absl::StatusOr<StateArgs> GetStateArgs(const ParsedArgs& args, bool required) {
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return state.status();
  const auto& positional = args.positional();
  if (state->demo && !positional.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "give a FILE or --demo, not both (got \"", positional[0], "\")"));
  }
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected one FILE, got ", positional.size(), " arguments"));
  }
  if (!positional.empty()) state->path = positional[0];
  if (required && !state->demo && state->path.empty()) {
    return absl::InvalidArgumentError("missing FILE (or --demo)");
  }
  return state;
}

absl::StatusOr<StateArgs> GetStateFlags(const ParsedArgs& args) {
  StateArgs state;
  state.demo = args.Has("demo");
  if (args.Has("format")) {
    absl::StatusOr<PolicyFormat> format = ParsePolicyFormat(args.Get("format"));
    if (!format.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--format: ", format.status().message()));
    }
    state.load.format = *format;
  }
  if (args.Has("max-bytes")) {
    absl::StatusOr<size_t> max = ParseByteSize(args.Get("max-bytes"));
    if (!max.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max-bytes: ", max.status().message()));
    }
    state.load.max_bytes = *max;
  }
  for (const std::string& option : args.GetAll("option")) {
    absl::Status status = ApplyEngineOption(option, &state.options);
    if (!status.ok()) return status;
  }
  return state;
}

absl::StatusOr<Compiled> LoadAndCompile(const StateArgs& state) {
  Compiled c;
  const absl::Duration cpu0 = ThreadCpuTime();
  const absl::Time t0 = absl::Now();
  if (state.demo) {
    c.loaded = LoadDemoState(false);
  } else {
    absl::StatusOr<LoadedState> loaded = LoadStateFile(state.path, state.load);
    if (!loaded.ok()) return loaded.status();
    c.loaded = *std::move(loaded);
  }
  const absl::Time t1 = absl::Now();
  const absl::Duration cpu1 = ThreadCpuTime();
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(c.loaded.state, state.options);
  const absl::Time t2 = absl::Now();
  const absl::Duration cpu2 = ThreadCpuTime();
  if (!engine.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.loaded.name, ": ", engine.status().message(),
                     " (run 'arbiter validate' to list every problem)"));
  }
  c.engine = *std::move(engine);
  c.load_time = t1 - t0;
  c.compile_time = t2 - t1;
  c.load_cpu = cpu1 - cpu0;
  c.compile_cpu = cpu2 - cpu1;
  return c;
}

absl::StatusOr<absl::optional<absl::Time>> GetAt(const ParsedArgs& args) {
  if (!args.Has("at")) return absl::optional<absl::Time>();
  absl::StatusOr<absl::Time> at = ParseRfc3339(args.Get("at"));
  if (!at.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--at: ", at.status().message()));
  }
  return absl::optional<absl::Time>(*at);
}

std::vector<FlagSpec> RequestFlags() {
  return {
      {"principal", 0, FlagSpec::kValue, "EMAIL|ID", "who asks"},
      {"permission", 0, FlagSpec::kValue, "NAME",
       "what for, e.g. project.workload.create"},
      {"resource", 0, FlagSpec::kValue, "ID|PATH",
       "on what: an id or a cloud[/project[/workload]] path"},
      {"org", 0, FlagSpec::kValue, "ID|NAME",
       "the organization, for emails and paths shared by several"},
      {"channel", 0, FlagSpec::kValue, "api|console",
       "how the principal connects (default api)"},
      AtFlag(),
  };
}

AccessRequest RequestArgs::ToRequest() const {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.org = org;
  r.context.channel = channel;
  r.context.now = at;
  return r;
}

absl::StatusOr<RequestArgs> GetRequestArgs(const ParsedArgs& args,
                                           bool require_request) {
  RequestArgs r;
  r.principal = args.Get("principal");
  r.permission = args.Get("permission");
  r.resource = args.Get("resource");
  r.org = args.Get("org");
  if (require_request) {
    for (const char* name : {"principal", "permission", "resource"}) {
      if (args.Get(name).empty()) {
        return absl::InvalidArgumentError(absl::StrCat("missing --", name));
      }
    }
  }
  if (args.Has("channel")) {
    absl::StatusOr<Channel> channel = ParseChannel(args.Get("channel"));
    if (!channel.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--channel: ", channel.status().message()));
    }
    r.channel = *channel;
  }
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return at.status();
  r.at = *at;
  return r;
}

absl::Duration ThreadCpuTime() {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return absl::ZeroDuration();
  return absl::DurationFromTimespec(ts);
}

void PrintLoadStats(const Compiled& c, const Io& io) {
  std::fprintf(io.err,
               "load:    %10.3f ms wall %10.3f ms cpu  (%zu bytes, %s)\n",
               absl::ToDoubleMilliseconds(c.load_time),
               absl::ToDoubleMilliseconds(c.load_cpu), c.loaded.bytes,
               std::string(PolicyFormatName(c.loaded.format)).c_str());
  std::fprintf(io.err,
               "compile: %10.3f ms wall %10.3f ms cpu  (%zu principals, %zu "
               "resources, %zu grants, %.1f MiB)\n",
               absl::ToDoubleMilliseconds(c.compile_time),
               absl::ToDoubleMilliseconds(c.compile_cpu),
               c.engine->num_principals(), c.engine->num_resources(),
               c.engine->num_grants(),
               static_cast<double>(c.engine->MemoryUsage()) / (1 << 20));
}

void PrintDecideStats(uint64_t decisions, absl::Duration wall,
                      absl::Duration cpu, const Io& io) {
  const double wall_s = absl::ToDoubleSeconds(wall);
  const double cpu_s = absl::ToDoubleSeconds(cpu);
  std::fprintf(io.err,
               "decide:  %10.3f ms wall %10.3f ms cpu  (%llu decisions; %.0f "
               "decisions/s wall, %.0f decisions/s cpu)\n",
               wall_s * 1e3, cpu_s * 1e3,
               static_cast<unsigned long long>(decisions),
               wall_s > 0 ? static_cast<double>(decisions) / wall_s : 0.0,
               cpu_s > 0 ? static_cast<double>(decisions) / cpu_s : 0.0);
}

}  // namespace cli
}  // namespace arbiter
