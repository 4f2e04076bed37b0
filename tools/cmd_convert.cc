// arbiter convert (FILE | --demo) --to FORMAT [-o OUT]

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/policy_io.h"
#include "tools/commands.h"

namespace arbiter {
namespace cli {
namespace {

int RunConvert(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  const std::string out_path = args.Get("output");
  PolicyFormat to = PolicyFormat::kAuto;
  if (args.Has("to")) {
    absl::StatusOr<PolicyFormat> f = ParsePolicyFormat(args.Get("to"));
    if (!f.ok() || *f == PolicyFormat::kAuto) {
      return UsageError(command, io,
                        absl::StrCat("--to: unknown format \"", args.Get("to"),
                                     "\" (text, json or binary)"));
    }
    to = *f;
  } else if (!out_path.empty()) {
    to = FormatFromPath(out_path);
  }
  if (to == PolicyFormat::kAuto) {
    return UsageError(command, io,
                      "missing --to (or an --output file with a known "
                      "extension)");
  }
  if (to == PolicyFormat::kBinary && out_path.empty() && isatty(io.out_fd)) {
    return UsageError(command, io,
                      "refusing to write binary to a terminal; use --output "
                      "FILE or redirect");
  }

  LoadedState loaded;
  if (state->demo) {
    loaded = LoadDemoState(false);
  } else {
    absl::StatusOr<LoadedState> l = LoadStateFile(state->path, state->load);
    if (!l.ok()) return InputError(command, io, l.status().message());
    loaded = *std::move(l);
  }
  absl::StatusOr<std::string> data = SerializePolicySet(loaded.state, to);
  if (!data.ok()) return InputError(command, io, data.status().message());

  if (out_path.empty()) {
    std::fwrite(data->data(), 1, data->size(), io.out);
    return kExitOk;
  }
  FILE* file = std::fopen(out_path.c_str(), "wb");
  if (file == nullptr) {
    return InputError(command, io,
                      absl::StrCat(out_path, ": ", std::strerror(errno)));
  }
  const bool written =
      std::fwrite(data->data(), 1, data->size(), file) == data->size();
  if (std::fclose(file) != 0 || !written) {
    return InputError(
        command, io,
        absl::StrCat(out_path, ": write failed: ", std::strerror(errno)));
  }
  return kExitOk;
}

}  // namespace

const Command& ConvertCommand() {
  static const Command* const command = new Command{
      "convert",
      "arbiter convert (FILE | --demo) --to text|json|binary [--output OUT]",
      "convert a policy file between text format, JSON and binary",
      "Reads a policy state in any format and writes it in another, to\n"
      "standard output or to --output (whose extension gives the format when\n"
      "--to is absent). The state is parsed, not compiled: an invalid policy\n"
      "converts too. Text and JSON output is deterministic (comments are not\n"
      "kept); binary is refused on a terminal.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       {"to", 't', FlagSpec::kValue, "FORMAT",
        "output format: text, json or binary"},
       {"output", 'o', FlagSpec::kValue, "FILE",
        "write to FILE instead of standard output"}},
      &RunConvert};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
