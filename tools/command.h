// The pieces every subcommand of the arbiter command shares: the command
// table entry, the exit codes, error reporting, and loading and compiling
// the state named on the command line (a FILE or --demo).

#ifndef ARBITER_TOOLS_COMMAND_H_
#define ARBITER_TOOLS_COMMAND_H_

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/request.h"
#include "tools/flags.h"
#include "tools/state_loader.h"

namespace arbiter {
namespace cli {

// Documented exit codes (docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,      // success; ALLOW; valid; every test passed
  kExitDenied = 1,  // DENY; invalid policy; a test failed; IAM FAIL
  kExitUsage = 2,   // usage error or unusable input
};

// Where a command reads and writes. The defaults are the process's.
struct Io {
  FILE* out = stdout;
  FILE* err = stderr;
  int in_fd = 0;
  int out_fd = 1;
};

struct Command {
  const char* name;
  const char* usage;        // "arbiter check (FILE | --demo) ..." lines
  const char* summary;      // one line for `arbiter --help`
  const char* description;  // paragraphs for `arbiter COMMAND --help`
  std::vector<FlagSpec> flags;
  int (*run)(const Command& command, const ParsedArgs& args, const Io& io);
};

// The full --help text of a command.
std::string CommandHelp(const Command& command);

// "arbiter check: <message> (see 'arbiter check --help')" on stderr; returns
// kExitUsage.
int UsageError(const Command& command, const Io& io, absl::string_view message);
// "arbiter check: <message>" on stderr; returns kExitUsage.
int InputError(const Command& command, const Io& io, absl::string_view message);

// ---- Flags shared by the commands that read a state ----
FlagSpec DemoFlag();
FlagSpec FormatFlag();
FlagSpec MaxBytesFlag();
FlagSpec OptionFlag();
FlagSpec AtFlag();
FlagSpec StatsFlag();

// The state named on the command line and how to read and compile it.
struct StateArgs {
  bool demo = false;
  std::string path;
  StateLoadOptions load;
  EngineOptions options;
};

// Reads --demo, --format, --max-bytes and --option (not the path). On
// error returns InvalidArgument with the usage message.
absl::StatusOr<StateArgs> GetStateFlags(const ParsedArgs& args);

// GetStateFlags, plus the state path from the positional arguments: exactly
// one FILE, or none with --demo (or none at all when not `required`).
absl::StatusOr<StateArgs> GetStateArgs(const ParsedArgs& args, bool required);

// A loaded and compiled state, with timings for --stats.
struct Compiled {
  LoadedState loaded;
  std::unique_ptr<const Engine> engine;
  absl::Duration load_time;
  absl::Duration compile_time;
  // CPU time of this thread for the same steps: unlike wall time, it does not
  // grow when other processes share the core.
  absl::Duration load_cpu;
  absl::Duration compile_cpu;
};

// CPU time consumed by the calling thread so far.
absl::Duration ThreadCpuTime();

// Prints the --stats line for `decisions` made in `wall` (and `cpu`).
void PrintDecideStats(uint64_t decisions, absl::Duration wall,
                      absl::Duration cpu, const Io& io);

// Loads and compiles. A compile failure is InvalidArgument
// "<name>: <first problem> (and N more problems; see 'arbiter validate')".
absl::StatusOr<Compiled> LoadAndCompile(const StateArgs& state);

// The optional --at flag.
absl::StatusOr<absl::optional<absl::Time>> GetAt(const ParsedArgs& args);

// ---- The request flags of check and explain ----
// --principal, --permission, --resource, --org, --channel, --at.
std::vector<FlagSpec> RequestFlags();

struct RequestArgs {
  std::string principal;
  std::string permission;
  std::string resource;
  std::string org;
  Channel channel = Channel::kApi;
  absl::optional<absl::Time> at;

  // Views into this object.
  AccessRequest ToRequest() const;
};

// Reads the request flags; principal, permission and resource are required
// when `require_request`.
absl::StatusOr<RequestArgs> GetRequestArgs(const ParsedArgs& args,
                                           bool require_request);

// Prints the --stats lines for loading and compiling to `io.err`.
void PrintLoadStats(const Compiled& compiled, const Io& io);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_COMMAND_H_
