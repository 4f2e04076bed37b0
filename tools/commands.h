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
const Command& ApplyCommand();     // cmd_apply.cc
const Command& StoreCommand();     // cmd_store.cc (+ store_cli.cc)
const Command& InviteCommand();    // cmd_identity.cc
const Command& SaCommand();        // cmd_identity.cc

// `arbiter key create|revoke|rotate|list` (cmd_identity.cc), which
// KeyCommand (cmd_auth.cc) runs besides `key hash`, and the flags of the
// commands that apply a transaction to a state file.
int RunKeyStore(const Command& command, const ParsedArgs& args, const Io& io);
std::vector<FlagSpec> IdentityStoreFlags();

// Lookups: who can, what can, effective access, policy diff.
const Command& WhoCanCommand();       // cmd_lookup.cc
const Command& WhatCanCommand();      // cmd_lookup.cc
const Command& PermissionsCommand();  // cmd_lookup.cc
const Command& DiffCommand();         // cmd_diff.cc

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_COMMANDS_H_
