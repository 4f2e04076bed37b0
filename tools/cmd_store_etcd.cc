// arbiter store --etcd ENDPOINTS [--prefix P] init|apply|dump|check|status|
// verify|checkpoint: the replicated store (tools/cmd_store_etcd.h). Each run
// opens a replica (bootstrapping from the log's checkpoint and the entries
// after it), does its one thing and closes it.

#include "tools/cmd_store_etcd.h"

// Only with the etcd backend (CMake adds this file then, with the
// definition); a build that compiles every tools/*.cc (Bazel) gets an empty
// unit and the fallback in the header.
#ifdef ARBITER_HAVE_ETCD

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "arbiter/policy_io.h"
#include "arbiter/policy_store.h"
#include "arbiter/replicated_store.h"
#include "arbiter/v1/mutation.pb.h"
#include "tools/decision_format.h"
#include "tools/state_loader.h"

namespace arbiter {
namespace cli {
namespace {

constexpr absl::string_view kActions =
    "init, apply, dump, check, status, verify or checkpoint";

// A status for people: "UNAVAILABLE: message".
std::string Describe(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

absl::StatusOr<v1::Transaction> LoadTransaction(const std::string& path,
                                                size_t max_bytes) {
  absl::StatusOr<std::string> data = ReadInputFile(path, max_bytes);
  if (!data.ok()) return data.status();
  v1::Transaction txn;
  const PolicyFormat format = DetectFormat(path, *data);
  if (format == PolicyFormat::kBinary) {
    if (!txn.ParseFromString(*data) || HasUnknownFields(txn)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": not an arbiter.v1.Transaction in binary protobuf"));
    }
    return txn;
  }
  StripUtf8Bom(&*data);
  if (absl::Status s = ParseTextOrJson(*data, format, path, &txn); !s.ok()) {
    return s;
  }
  return txn;
}

int Open(const Command& command, const Io& io,
         const ReplicatedStoreOptions& options,
         std::unique_ptr<ReplicatedStore>* replica) {
  absl::StatusOr<std::unique_ptr<ReplicatedStore>> opened =
      ReplicatedStore::Open(options);
  if (!opened.ok()) return InputError(command, io, Describe(opened.status()));
  *replica = *std::move(opened);
  return kExitOk;
}

int RunInit(const Command& command, const ParsedArgs& args, const Io& io,
            const StateArgs& state_args,
            const ReplicatedStoreOptions& options) {
  const std::vector<std::string>& pos = args.positional();
  absl::StatusOr<LoadedState> loaded = absl::InvalidArgumentError("");
  if (state_args.demo) {
    if (pos.size() != 1) {
      return UsageError(command, io, "init: --demo replaces the STATE file");
    }
    loaded = LoadDemoState(false);
  } else {
    if (pos.size() != 2) {
      return UsageError(command, io,
                        "init: expected one STATE file (or --demo)");
    }
    loaded = LoadStateFile(pos[1], state_args.load);
  }
  if (!loaded.ok()) return InputError(command, io, loaded.status().message());
  ReplicatedStoreOptions o = options;
  o.store.engine = state_args.options;
  absl::StatusOr<int64_t> etcd_revision =
      ReplicatedStore::Initialize(o, loaded->state);
  if (!etcd_revision.ok()) {
    return InputError(command, io,
                      absl::StrCat("init: ", Describe(etcd_revision.status())));
  }
  std::fprintf(io.out,
               "initialized %s with %s at revision %llu (etcd revision %lld)\n",
               o.prefix.c_str(), loaded->name.c_str(),
               static_cast<unsigned long long>(loaded->state.revision()),
               static_cast<long long>(*etcd_revision));
  return kExitOk;
}

int RunApply(const Command& command, const ParsedArgs& args, const Io& io,
             const StateArgs& state_args, ReplicatedStore& replica) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.size() < 2) {
    return UsageError(command, io, "apply: expected TRANSACTION files");
  }
  // Read every file first: a bad file refuses the run before anything is
  // committed.
  std::vector<v1::Transaction> txns;
  for (size_t i = 1; i < pos.size(); ++i) {
    absl::StatusOr<v1::Transaction> txn =
        LoadTransaction(pos[i], state_args.load.max_bytes);
    if (!txn.ok()) return InputError(command, io, txn.status().message());
    txns.push_back(*std::move(txn));
  }
  for (size_t i = 0; i < txns.size(); ++i) {
    const std::string& name = pos[i + 1];
    absl::StatusOr<ReplicatedWrite> w = replica.Apply(txns[i]);
    if (!w.ok()) {
      const Refusal refusal = RefusalOf(w.status());
      std::fprintf(io.out, "%s: refused: %s%s: %s\n", name.c_str(),
                   absl::StatusCodeToString(w.status().code()).c_str(),
                   refusal == Refusal::kNone
                       ? ""
                       : absl::StrCat(" [", RefusalName(refusal), "]").c_str(),
                   OneLine(w.status().message()).c_str());
      // Later transactions were written against this one: stop here.
      return kExitDenied;
    }
    std::fprintf(io.out,
                 "%s: applied: revision %llu (%zu audit records; etcd "
                 "revision %lld)\n",
                 name.c_str(), static_cast<unsigned long long>(w->revision),
                 w->audit.size(), static_cast<long long>(w->etcd_revision));
  }
  return kExitOk;
}

absl::StatusOr<ReadConsistency> GetConsistency(const ParsedArgs& args) {
  ReadConsistency c;
  if (args.Has("at-least")) {
    if (!absl::SimpleAtoi(args.Get("at-least"), &c.min_revision) ||
        c.min_revision == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--at-least: \"", args.Get("at-least"), "\" is not a revision"));
    }
  }
  absl::Duration wait = absl::Seconds(5);
  if (args.Has("wait") && (!absl::ParseDuration(args.Get("wait"), &wait) ||
                           wait < absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--wait: \"", args.Get("wait"),
                     "\" is not a duration (e.g. 500ms, 2s)"));
  }
  c.max_wait = wait;
  return c;
}

int RunCheck(const Command& command, const ParsedArgs& args, const Io& io,
             const ReadConsistency& consistency, ReplicatedStore& replica) {
  if (args.positional().size() != 1) {
    return UsageError(command, io,
                      "check: takes no file (the log is the state)");
  }
  absl::StatusOr<RequestArgs> request = GetRequestArgs(args, true);
  if (!request.ok()) return UsageError(command, io, request.status().message());
  absl::StatusOr<ReplicatedDecision> d =
      replica.Check(request->ToRequest(), consistency);
  if (!d.ok()) return InputError(command, io, Describe(d.status()));
  const DecisionFormatter formatter(*d->engine);
  if (args.Has("json")) {
    std::string line;
    formatter.AppendJson(d->decision, "", &line);
    std::fputs(line.c_str(), io.out);
  } else {
    std::fprintf(io.out, "%s etcd_revision=%lld\n",
                 formatter.Text(d->decision).c_str(),
                 static_cast<long long>(d->etcd_revision));
  }
  return d->allowed() ? kExitOk : kExitDenied;
}

int RunDump(const Command& command, const ParsedArgs& args, const Io& io,
            const ReadConsistency& consistency, ReplicatedStore& replica) {
  PolicyFormat to = PolicyFormat::kText;
  if (args.Has("to")) {
    absl::StatusOr<PolicyFormat> f = ParsePolicyFormat(args.Get("to"));
    if (!f.ok() || *f == PolicyFormat::kAuto) {
      return UsageError(command, io,
                        absl::StrCat("--to: \"", args.Get("to"),
                                     "\" is not text, json or binary"));
    }
    to = *f;
  }
  absl::StatusOr<std::shared_ptr<const Engine>> at =
      replica.Snapshot(consistency);
  if (!at.ok()) return InputError(command, io, Describe(at.status()));
  std::string bytes;
  if (args.Has("audit")) {
    for (const v1::AuditRecord& r : replica.AuditRecords()) {
      absl::StrAppend(&bytes, AuditRecordToJson(r), "\n");
    }
  } else {
    const v1::PolicySet state = replica.StateCopy();  // at least as new
    absl::StatusOr<std::string> serialized = SerializePolicySet(state, to);
    if (!serialized.ok()) {
      return InputError(command, io, serialized.status().message());
    }
    bytes = *std::move(serialized);
  }
  if (!args.Has("output")) {
    std::fwrite(bytes.data(), 1, bytes.size(), io.out);
    return kExitOk;
  }
  const std::string path = args.Get("output");
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return InputError(command, io, absl::StrCat(path, ": cannot be written"));
  }
  const bool written =
      std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !written) {
    return InputError(command, io, absl::StrCat(path, ": write failed"));
  }
  return kExitOk;
}

int RunStatus(const Io& io, ReplicatedStore& replica, bool verify) {
  const ReplicaStatus s = replica.status();
  std::fprintf(io.out, "revision %llu (etcd revision %lld)\n",
               static_cast<unsigned long long>(s.revision),
               static_cast<long long>(s.etcd_revision));
  std::fprintf(io.out, "checkpoint at revision %llu\n",
               static_cast<unsigned long long>(s.checkpoint_revision));
  std::fprintf(io.out, "state digest %s\n", replica.StateDigest().c_str());
  std::fprintf(io.out, "health %s\n",
               s.health.ok() ? "OK: current" : Describe(s.health).c_str());
  int code = s.health.ok() ? kExitOk : kExitDenied;
  if (verify) {
    const AuditVerification v = VerifyAuditChain(replica.AuditRecords());
    std::fprintf(io.out, "audit chain %s\n", v.Summary().c_str());
    if (!v.ok()) code = kExitDenied;
  }
  return code;
}

}  // namespace

int RunStoreEtcd(const Command& command, const ParsedArgs& args, const Io& io) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.empty()) {
    return UsageError(
        command, io,
        absl::StrCat("--etcd: missing the action (", kActions, ")"));
  }
  const std::string& action = pos[0];
  ReplicatedStoreOptions options;
  options.endpoints = absl::StrSplit(args.Get("etcd"), ',', absl::SkipEmpty());
  if (options.endpoints.empty()) {
    return UsageError(command, io, "--etcd needs at least one endpoint");
  }
  options.prefix = args.Get("prefix", "/arbiter/");
  if (options.prefix.empty() || options.prefix[0] != '/') {
    return UsageError(
        command, io,
        absl::StrCat("--prefix: \"", options.prefix, "\" must start with '/'"));
  }
  // A command-line run does not write checkpoints in the background.
  options.checkpoint_interval = 0;
  absl::StatusOr<StateArgs> state_args = GetStateFlags(args);
  if (!state_args.ok()) {
    return UsageError(command, io, state_args.status().message());
  }
  options.store.engine = state_args->options;
  if (action == "init") {
    return RunInit(command, args, io, *state_args, options);
  }
  if (state_args->demo) {
    return UsageError(
        command, io,
        absl::StrCat("--demo belongs to 'init' (", action, " reads the log)"));
  }
  absl::StatusOr<ReadConsistency> consistency = GetConsistency(args);
  if (!consistency.ok()) {
    return UsageError(command, io, consistency.status().message());
  }
  if (action != "apply" && action != "dump" && action != "check" &&
      action != "status" && action != "verify" && action != "checkpoint") {
    return UsageError(command, io,
                      absl::StrCat("--etcd: unknown action \"", action,
                                   "\" (expected ", kActions, ")"));
  }
  if ((action == "status" || action == "verify" || action == "checkpoint") &&
      pos.size() != 1) {
    return UsageError(command, io, absl::StrCat(action, ": takes no argument"));
  }
  std::unique_ptr<ReplicatedStore> replica;
  if (int code = Open(command, io, options, &replica); code != kExitOk) {
    return code;
  }
  if (action == "apply") {
    return RunApply(command, args, io, *state_args, *replica);
  }
  if (action == "check") {
    return RunCheck(command, args, io, *consistency, *replica);
  }
  if (action == "dump") {
    return RunDump(command, args, io, *consistency, *replica);
  }
  if (action == "checkpoint") {
    absl::StatusOr<uint64_t> revision = replica->WriteCheckpoint();
    if (!revision.ok()) {
      return InputError(command, io, Describe(revision.status()));
    }
    std::fprintf(io.out, "checkpoint written at revision %llu\n",
                 static_cast<unsigned long long>(*revision));
    return kExitOk;
  }
  return RunStatus(io, *replica, action == "verify");
}

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_HAVE_ETCD
