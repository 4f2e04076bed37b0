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
const Command& AuditCommand();     // cmd_audit.cc
const Command& AuthCommand();      // cmd_auth.cc
const Command& KeyCommand();       // cmd_auth.cc
const Command& QuotaCommand();     // cmd_quota.cc
const Command& AdmitCommand();     // cmd_admit.cc

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_COMMANDS_H_
