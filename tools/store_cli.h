// The durable store in the arbiter command: `arbiter store ...` and
// `arbiter check --store DIR`. Built only with the store library
// (ARBITER_HAVE_STORE; tools/CMakeLists.txt): tools/cmd_store.cc holds the
// command's table entry and says so when it is missing.

#ifndef ARBITER_TOOLS_STORE_CLI_H_
#define ARBITER_TOOLS_STORE_CLI_H_

#include <string>

#include "absl/status/statusor.h"
#include "tools/command.h"

namespace arbiter {
namespace cli {

// Runs `arbiter store SUBCOMMAND DIR ...` (args as parsed with the store
// command's flags).
int RunStoreCommand(const Command& command, const ParsedArgs& args,
                    const Io& io);

// The last committed state of the store in `dir`, read read-only (beside a
// running writer) and verified, compiled with `state.options`: what
// `arbiter check --store DIR` decides on. Errors name the store.
absl::StatusOr<Compiled> LoadStoreAndCompile(const std::string& dir,
                                             const StateArgs& state);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_STORE_CLI_H_
