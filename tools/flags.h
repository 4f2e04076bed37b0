// Command-line parsing for the arbiter command: a small, strict parser of
// `--name value`, `--name=value`, `-x value`, boolean flags and positional
// arguments. Pure (no globals, no I/O) so that it is easy to test and fuzz.
//
// Example:
//
//   static constexpr FlagSpec kFlags[] = {
//       {"principal", 'p', FlagSpec::kValue, "EMAIL|ID", "the principal"},
//       {"demo", 0, FlagSpec::kBool, "", "use the demo organization"},
//   };
//   absl::StatusOr<ParsedArgs> args = ParseArgs({"--demo", "x"}, kFlags);
//   // args->Has("demo"), args->positional() == {"x"}

#ifndef ARBITER_TOOLS_FLAGS_H_
#define ARBITER_TOOLS_FLAGS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace arbiter {
namespace cli {

struct FlagSpec {
  enum Kind {
    kBool,      // --name; takes no value
    kValue,     // --name VALUE or --name=VALUE; at most once
    kRepeated,  // --name VALUE, any number of times
  };
  const char* name;  // without the dashes
  char short_name;   // 0 for none
  Kind kind;
  const char* value_name;  // "FILE", "EMAIL|ID", ... (help text only)
  const char* help;
};

class ParsedArgs {
 public:
  bool Has(absl::string_view name) const;
  // The value of a kValue flag, or `fallback` when absent.
  std::string Get(absl::string_view name,
                  absl::string_view fallback = "") const;
  // Every value of a kRepeated flag, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(
      const std::vector<std::string>& args, absl::Span<const FlagSpec> specs);
  std::vector<std::pair<std::string, std::string>> flags_;
  std::vector<std::string> positional_;
};

// Parses `args` (the words after the command name). Flags and positional
// arguments may interleave; `--` ends the flags; a lone `-` is positional
// (standard input). Errors are InvalidArgument with a one-line message:
//   unknown flag --frobnicate
//   --principal needs a value
//   --principal given twice
//   --demo takes no value
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     absl::Span<const FlagSpec> specs);

// The flag table rendered for --help, one flag per line.
std::string FlagsHelp(absl::Span<const FlagSpec> specs);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_FLAGS_H_
