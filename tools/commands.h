// The subcommands of the arbiter command, one per file (tools/cmd_*.cc).

#ifndef ARBITER_TOOLS_COMMANDS_H_
#define ARBITER_TOOLS_COMMANDS_H_

#include "tools/command.h"

namespace arbiter {
namespace cli {

const Command& ValidateCommand();  // cmd_validate.cc
const Command& CheckCommand();     // cmd_check.cc
const Command& ExplainCommand();   // cmd_explain.cc
const Command& IamCommand();       // cmd_iam.cc
const Command& TestCommand();      // cmd_test.cc
const Command& ProfileCommand();   // cmd_profile.cc
const Command& ConvertCommand();   // cmd_convert.cc
const Command& DemoCommand();      // cmd_demo.cc

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_COMMANDS_H_
