// arbiter store (init | apply | dump | verify | checkpoint) DIR ...
// arbiter store --etcd ENDPOINTS ... (tools/cmd_store_etcd.h)
//
// The table entry is always built, so that `arbiter --help` is the same in
// every build; the subcommands live in tools/store_cli.cc, built only with
// the store library (ARBITER_HAVE_STORE), and, for the replicated store on
// etcd, in tools/cmd_store_etcd.cc (ARBITER_HAVE_ETCD).

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cmd_store_etcd.h"
#include "tools/commands.h"
#ifdef ARBITER_HAVE_STORE
#include "tools/store_cli.h"
#endif

namespace arbiter {
namespace cli {
namespace {

int RunStore(const Command& command, const ParsedArgs& args, const Io& io) {
  if (args.Has("etcd")) return RunStoreEtcd(command, args, io);
#ifdef ARBITER_HAVE_STORE
  return RunStoreCommand(command, args, io);
#else
  return InputError(command, io,
                    "this arbiter was built without the durable store "
                    "(configure with -DARBITER_WITH_STORE=ON; it needs "
                    "SQLite, libsqlite3-dev)");
#endif
}

// The flags of both backends, each once.
std::vector<FlagSpec> StoreFlags() {
  std::vector<FlagSpec> flags = {
      DemoFlag(),
      FormatFlag(),
      MaxBytesFlag(),
      OptionFlag(),
      {"to", 't', FlagSpec::kValue, "FORMAT",
       "dump: output format, text, json or binary (default text)"},
      {"output", 'o', FlagSpec::kValue, "FILE",
       "dump: write to FILE instead of standard output"},
      {"audit", 0, FlagSpec::kBool, "",
       "dump: the audit records (JSON Lines) instead of the state"},
      {"sync", 0, FlagSpec::kValue, "full|normal",
       "init, apply: normal skips the fsync of each commit (survives a crash "
       "of the process, not of the machine; default full)"}};
  std::vector<FlagSpec> etcd = StoreEtcdFlags();
  for (const FlagSpec& f : RequestFlags()) etcd.push_back(f);
  etcd.push_back({"json", 0, FlagSpec::kBool, "",
                  "--etcd check: print the decision as a JSON object"});
  for (const FlagSpec& f : etcd) {
    bool listed = false;
    for (const FlagSpec& g : flags) {
      if (std::string(g.name) == f.name) listed = true;
    }
    if (!listed) flags.push_back(f);
  }
  return flags;
}

}  // namespace

const Command& StoreCommand() {
  static const std::string* const usage = new std::string(absl::StrCat(
      "arbiter store init DIR (FILE | --demo) [flags]\n"
      "       arbiter store apply DIR TRANSACTION... [flags]\n"
      "       arbiter store dump DIR [--to text|json|binary] [--output OUT] "
      "[--audit]\n"
      "       arbiter store verify DIR\n"
      "       arbiter store checkpoint DIR\n"
      "       ",
      kStoreEtcdUsage));
  static const std::string* const description = new std::string(absl::StrCat(
      "A store is a directory holding an organization state durably: a log\n"
      "of committed transactions and checkpoints in one SQLite database,\n"
      "every record hash-chained (docs/store.md). Only one process writes a\n"
      "store at a time; any number read it.\n"
      "\n"
      "init DIR FILE      creates a store holding the state of FILE (or\n"
      "                   --demo) at its revision. Refused if DIR holds a\n"
      "                   store already.\n"
      "apply DIR TXN...   applies transaction files (arbiter.v1.Transaction\n"
      "                   in text format, JSON or binary) in order, each\n"
      "                   durable before the next; prints each new revision.\n"
      "                   Stops at the first refusal: prints its code and\n"
      "                   reason and exits 1.\n"
      "dump DIR           writes the last committed state (text format by\n"
      "                   default) or, with --audit, the audit records as\n"
      "                   JSON Lines. The store is read, not locked.\n"
      "verify DIR         checks everything on disk: SQLite's integrity,\n"
      "                   every hash of every log entry and checkpoint, that\n"
      "                   the log replays and compiles, the audit chain.\n"
      "                   Exits 0 when intact, 1 with the first problem.\n"
      "checkpoint DIR     writes a checkpoint of the last revision now and\n"
      "                   compacts the log behind it.\n"
      "\n"
      "Check against a store with 'arbiter check --store DIR ...'. Engine\n"
      "options (--option) are not stored: give the same ones each time.\n"
      "\n",
      kStoreEtcdDescription));
  static const Command* const command = new Command{
      "store",
      usage->c_str(),
      "create, change, dump and verify a durable store (a directory, or etcd)",
      description->c_str(),
      StoreFlags(),
      &RunStore};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
