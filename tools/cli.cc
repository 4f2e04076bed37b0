#include "tools/cli.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "tools/cli_options.h"
#include "tools/commands.h"

#ifndef ARBITER_VERSION
#define ARBITER_VERSION "unknown"
#endif

namespace arbiter {
namespace cli {
namespace {

std::vector<const Command*> AllCommands() {
  return {&ValidateCommand(),    &CheckCommand(),  &ExplainCommand(),
          &IamCommand(),         &TestCommand(),   &ProfileCommand(),
          &ConvertCommand(),     &DemoCommand(),   &ApplyCommand(),
          &AuditCommand(),       &AuthCommand(),   &KeyCommand(),
          &InviteCommand(),      &SaCommand(),     &QuotaCommand(),
          &AdmitCommand(),       &WhoCanCommand(), &WhatCanCommand(),
          &PermissionsCommand(), &DiffCommand(),   &StoreCommand()};
}

const Command* FindCommand(absl::string_view name) {
  for (const Command* command : AllCommands()) {
    if (name == command->name) return command;
  }
  return nullptr;
}

std::string MainHelp() {
  std::string out =
      "arbiter: validate, check and explain Arbiter access policies\n"
      "\n"
      "Usage: arbiter COMMAND [FLAGS] [ARGS]\n"
      "\n"
      "Commands:\n";
  // The summaries start in column 12; a longer name puts its summary on the
  // next line.
  for (const Command* command : AllCommands()) {
    const size_t size = std::string(command->name).size();
    absl::StrAppend(&out, "  ", command->name,
                    size <= 8 ? std::string(10 - size, ' ')
                              : std::string("\n") + std::string(12, ' '),
                    command->summary, "\n");
  }
  absl::StrAppend(
      &out,
      "\n"
      "Policy files are protobuf text format (.textproto, .txtpb, .pbtxt),\n"
      "JSON (.json) or binary (.binpb, .pb, .bin); --format overrides the\n"
      "extension. Every command takes --demo in place of a policy file: the\n"
      "built-in demo organization. Try: arbiter demo\n"
      "\n"
      "Exit codes: 0 success/allow, 1 deny/invalid/failed, 2 usage or input "
      "error.\n"
      "\n"
      "Run 'arbiter COMMAND --help' for a command's flags, 'arbiter help "
      "options'\n"
      "for the --option keys, 'arbiter --version' for the version.\n");
  return out;
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const Io& io) {
  if (args.empty()) {
    std::fprintf(io.err,
                 "arbiter: missing COMMAND (see 'arbiter --help'; try "
                 "'arbiter demo')\n");
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--help" || first == "-h" ||
      (first == "help" && args.size() == 1)) {
    std::fputs(MainHelp().c_str(), io.out);
    return kExitOk;
  }
  if (first == "--version") {
    std::fputs("arbiter " ARBITER_VERSION "\n", io.out);
    return kExitOk;
  }
  if (first == "help") {
    if (args[1] == "options") {
      std::fprintf(io.out,
                   "Engine options, for --option KEY=VALUE (repeatable) and "
                   "the options map of\ntest suites (access-model "
                   "\xC2\xA7"
                   "12):\n\n%s",
                   EngineOptionsHelp().c_str());
      return kExitOk;
    }
    const Command* command = FindCommand(args[1]);
    if (command == nullptr) {
      std::fprintf(io.err,
                   "arbiter help: unknown topic \"%s\" (a command or "
                   "\"options\"; see 'arbiter --help')\n",
                   OneLine(args[1]).c_str());
      return kExitUsage;
    }
    std::fputs(CommandHelp(*command).c_str(), io.out);
    return kExitOk;
  }
  const Command* command = FindCommand(first);
  if (command == nullptr) {
    std::fprintf(io.err,
                 "arbiter: unknown command \"%s\" (see 'arbiter --help')\n",
                 OneLine(first).c_str());
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (WantsHelp(rest)) {
    std::fputs(CommandHelp(*command).c_str(), io.out);
    return kExitOk;
  }
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, command->flags);
  if (!parsed.ok()) return UsageError(*command, io, parsed.status().message());
  const int code = command->run(*command, *parsed, io);
  if (std::fflush(io.out) != 0 && code != kExitUsage) {
    std::fprintf(io.err, "arbiter %s: error writing the output\n",
                 command->name);
    return kExitUsage;
  }
  return code;
}

}  // namespace cli
}  // namespace arbiter
