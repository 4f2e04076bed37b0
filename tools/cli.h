// The arbiter command's entry point: dispatches `arbiter COMMAND ...` to the
// subcommands and handles --help, `help`, --version and usage errors.

#ifndef ARBITER_TOOLS_CLI_H_
#define ARBITER_TOOLS_CLI_H_

#include <string>
#include <vector>

#include "tools/command.h"

namespace arbiter {
namespace cli {

// `args` are the words after the program name. Returns the exit code.
int RunCli(const std::vector<std::string>& args, const Io& io = Io());

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_CLI_H_
