// `arbiter store --etcd ENDPOINTS ...`: the replicated store on an etcd
// cluster (include/arbiter/replicated_store.h; docs/cli.md, "arbiter store
// --etcd"; docs/replication.md).
//
//   arbiter store --etcd ENDPOINTS [--prefix P] init (STATE | --demo)
//   arbiter store --etcd ENDPOINTS [--prefix P] apply TRANSACTION...
//   arbiter store --etcd ENDPOINTS [--prefix P] dump [--to FORMAT]
//       [--output OUT] [--audit]
//   arbiter store --etcd ENDPOINTS [--prefix P] check --principal P
//       --permission X --resource R [--at-least REVISION] [--json]
//   arbiter store --etcd ENDPOINTS [--prefix P] status | verify | checkpoint
//
// The `store` command (tools/cmd_store.cc) owns the command; it lists
// StoreEtcdFlags() among its flags and hands a command line with --etcd to
// RunStoreEtcd. The implementation (cmd_store_etcd.cc) links
// arbiter_replication and is built only with -DARBITER_WITH_ETCD=ON, which
// defines ARBITER_HAVE_ETCD for arbiter_cli; without it RunStoreEtcd says
// so and exits 2.

#ifndef ARBITER_TOOLS_CMD_STORE_ETCD_H_
#define ARBITER_TOOLS_CMD_STORE_ETCD_H_

#include <cstdio>
#include <vector>

#include "tools/command.h"

namespace arbiter {
namespace cli {

// Usage lines for `arbiter store --help`.
inline constexpr char kStoreEtcdUsage[] =
    "arbiter store --etcd ENDPOINTS [--prefix P] init (STATE | --demo)\n"
    "       arbiter store --etcd ENDPOINTS [--prefix P] apply TRANSACTION...\n"
    "       arbiter store --etcd ENDPOINTS [--prefix P] dump [--to FORMAT] "
    "[--output OUT] [--audit]\n"
    "       arbiter store --etcd ENDPOINTS [--prefix P] check --principal P "
    "--permission X\n"
    "             --resource R [--at-least REVISION] [--json]\n"
    "       arbiter store --etcd ENDPOINTS [--prefix P] status | verify | "
    "checkpoint";

// The --help paragraph for the etcd backend.
inline constexpr char kStoreEtcdDescription[] =
    "With --etcd, the store is a policy log in an etcd v3 cluster that many\n"
    "service replicas share (docs/replication.md): ENDPOINTS is a comma-\n"
    "separated list of client URLs (http://10.0.0.1:2379,...) and --prefix\n"
    "the key prefix of the log (default /arbiter/). `init` imports a state\n"
    "into an empty log; `apply` commits transactions (text format, JSON or\n"
    "binary arbiter.v1.Transaction) and prints each one's revision, the\n"
    "consistency token; `check` decides a request on the log's newest state,\n"
    "or with --at-least on a state at least that new (else it fails, exit\n"
    "2); `dump` prints the state; `status` the revision, the etcd revision\n"
    "and whether the replica can prove it is current; `verify` checks the\n"
    "audit chain; `checkpoint` writes a checkpoint now.\n";

// The flags `arbiter store` takes for the etcd backend, besides the request
// flags (RequestFlags()), --demo, --format, --max-bytes, --option and
// --json, which it may already list.
inline std::vector<FlagSpec> StoreEtcdFlags() {
  return {
      {"etcd", 0, FlagSpec::kValue, "ENDPOINTS",
       "use the replicated store on these etcd members (comma-separated)"},
      {"prefix", 0, FlagSpec::kValue, "PREFIX",
       "the key prefix of the log in etcd (default /arbiter/)"},
      {"at-least", 0, FlagSpec::kValue, "REVISION",
       "check/dump: answer from a state at least this new (a token), or fail"},
      {"wait", 0, FlagSpec::kValue, "DURATION",
       "how long --at-least may wait (default 5s)"},
      {"to", 0, FlagSpec::kValue, "FORMAT",
       "dump: text (default), json or binary"},
  };
}

#ifdef ARBITER_HAVE_ETCD
// Runs `arbiter store --etcd ...` (cmd_store_etcd.cc).
int RunStoreEtcd(const Command& command, const ParsedArgs& args, const Io& io);
#else
inline int RunStoreEtcd(const Command& command, const ParsedArgs& args,
                        const Io& io) {
  return InputError(command, io,
                    "--etcd: this arbiter was built without the etcd "
                    "backend (configure with -DARBITER_WITH_ETCD=ON)");
}
#endif

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_CMD_STORE_ETCD_H_
