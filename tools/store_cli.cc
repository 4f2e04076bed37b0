// arbiter store (init | apply | dump | verify | checkpoint) DIR ..., and
// the store behind `arbiter check --store DIR` (tools/store_cli.h).

#include "tools/store_cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_io.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/mutation.pb.h"
#include "tools/commands.h"

namespace arbiter {
namespace cli {
namespace {

struct Subcommand {
  const char* name;
  std::vector<const char*> flags;
};

const std::vector<Subcommand>& Subcommands() {
  static const auto* const subs = new std::vector<Subcommand>{
      {"init", {"demo", "format", "max-bytes", "option", "sync"}},
      {"apply", {"format", "max-bytes", "option", "sync"}},
      {"dump", {"to", "output", "audit"}},
      {"verify", {"option"}},
      {"checkpoint", {"option"}},
  };
  return *subs;
}

// The store's options from --option and --sync.
absl::StatusOr<DurableStoreOptions> StoreOptions(const ParsedArgs& args) {
  DurableStoreOptions options;
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return state.status();
  options.policy.engine = state->options;
  if (args.Has("sync")) {
    const std::string sync = args.Get("sync");
    if (sync == "full") {
      options.sync = StoreSync::kFull;
    } else if (sync == "normal") {
      options.sync = StoreSync::kNormal;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--sync: \"", sync, "\" is not full or normal"));
    }
  }
  return options;
}

std::string Summary(const v1::PolicySet& state) {
  return absl::StrCat(state.organizations_size(), " organizations, ",
                      state.principals_size(), " principals, ",
                      state.grants_size(), " grants");
}

int RunInit(const Command& command, const std::string& dir,
            const ParsedArgs& args, const Io& io) {
  std::vector<std::string> rest(args.positional().begin() + 2,
                                args.positional().end());
  const bool demo = args.Has("demo");
  if (demo == !rest.empty() || rest.size() > 1) {
    return UsageError(command, io,
                      "init takes DIR and one FILE, or DIR and --demo");
  }
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  absl::StatusOr<DurableStoreOptions> options = StoreOptions(args);
  if (!options.ok()) return UsageError(command, io, options.status().message());
  LoadedState loaded;
  if (demo) {
    loaded = LoadDemoState(false);
  } else {
    absl::StatusOr<LoadedState> l = LoadStateFile(rest[0], state->load);
    if (!l.ok()) return InputError(command, io, l.status().message());
    loaded = *std::move(l);
  }
  const std::string summary = Summary(loaded.state);
  absl::StatusOr<std::unique_ptr<DurableStore>> store =
      DurableStore::Create(dir, std::move(loaded.state), *options);
  if (!store.ok()) return InputError(command, io, store.status().message());
  std::fprintf(io.out, "%s: created at revision %llu: %s\n", dir.c_str(),
               static_cast<unsigned long long>((*store)->revision()),
               summary.c_str());
  return kExitOk;
}

absl::StatusOr<v1::Transaction> LoadTransaction(const std::string& path,
                                                const StateArgs& state) {
  absl::StatusOr<std::string> data = ReadInputFile(path, state.load.max_bytes);
  if (!data.ok()) return data.status();
  PolicyFormat format = state.load.format;
  if (format == PolicyFormat::kAuto) format = DetectFormat(path, *data);
  v1::Transaction txn;
  if (format == PolicyFormat::kBinary) {
    if (!txn.ParseFromString(*data) || HasUnknownFields(txn)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a binary arbiter.v1.Transaction"));
    }
    return txn;
  }
  absl::Status s = ParseTextOrJson(*data, format, path, &txn);
  if (!s.ok()) return s;
  return txn;
}

int RunApply(const Command& command, const std::string& dir,
             const ParsedArgs& args, const Io& io) {
  std::vector<std::string> files(args.positional().begin() + 2,
                                 args.positional().end());
  if (files.empty()) {
    return UsageError(command, io, "apply takes DIR and TRANSACTION files");
  }
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  absl::StatusOr<DurableStoreOptions> options = StoreOptions(args);
  if (!options.ok()) return UsageError(command, io, options.status().message());
  // Every file parses before the store is touched.
  std::vector<v1::Transaction> txns;
  for (const std::string& file : files) {
    absl::StatusOr<v1::Transaction> txn = LoadTransaction(file, *state);
    if (!txn.ok()) return InputError(command, io, txn.status().message());
    txns.push_back(*std::move(txn));
  }
  absl::StatusOr<std::unique_ptr<DurableStore>> store =
      DurableStore::Open(dir, *options);
  if (!store.ok()) return InputError(command, io, store.status().message());
  for (size_t i = 0; i < txns.size(); ++i) {
    absl::StatusOr<AppliedTransaction> applied = (*store)->Apply(txns[i]);
    if (!applied.ok()) {
      const Refusal refusal = RefusalOf(applied.status());
      std::fprintf(io.out, "%s: refused: %s%s: %s\n", files[i].c_str(),
                   absl::StatusCodeToString(applied.status().code()).c_str(),
                   refusal == Refusal::kNone
                       ? ""
                       : absl::StrCat(" [", RefusalName(refusal), "]").c_str(),
                   OneLine(applied.status().message()).c_str());
      return kExitDenied;
    }
    std::fprintf(io.out, "%s: applied: revision %llu (%zu audit records)\n",
                 files[i].c_str(),
                 static_cast<unsigned long long>(applied->revision),
                 applied->audit.size());
  }
  return kExitOk;
}

int WriteOutput(const Command& command, const std::string& path,
                const std::string& data, const Io& io) {
  if (path.empty()) {
    std::fwrite(data.data(), 1, data.size(), io.out);
    return kExitOk;
  }
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return InputError(command, io,
                      absl::StrCat(path, ": ", std::strerror(errno)));
  }
  const bool written =
      std::fwrite(data.data(), 1, data.size(), file) == data.size();
  if (std::fclose(file) != 0 || !written) {
    return InputError(
        command, io,
        absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  }
  return kExitOk;
}

int RunDump(const Command& command, const std::string& dir,
            const ParsedArgs& args, const Io& io) {
  if (args.positional().size() != 2) {
    return UsageError(command, io, "dump takes DIR only");
  }
  const std::string out_path = args.Get("output");
  PolicyFormat to = PolicyFormat::kText;
  if (args.Has("to")) {
    absl::StatusOr<PolicyFormat> f = ParsePolicyFormat(args.Get("to"));
    if (!f.ok() || *f == PolicyFormat::kAuto) {
      return UsageError(command, io,
                        absl::StrCat("--to: unknown format \"", args.Get("to"),
                                     "\" (text, json or binary)"));
    }
    to = *f;
  } else if (!out_path.empty() &&
             FormatFromPath(out_path) != PolicyFormat::kAuto) {
    to = FormatFromPath(out_path);
  }
  if (args.Has("audit") && args.Has("to")) {
    return UsageError(command, io, "--audit writes JSON Lines; drop --to");
  }
  if (!args.Has("audit") && to == PolicyFormat::kBinary && out_path.empty() &&
      isatty(io.out_fd)) {
    return UsageError(command, io,
                      "refusing to write binary to a terminal; use --output "
                      "FILE or redirect");
  }
  absl::StatusOr<StoreContents> contents = DurableStore::Read(dir);
  if (!contents.ok()) {
    return InputError(command, io, contents.status().message());
  }
  std::string data;
  if (args.Has("audit")) {
    for (const v1::AuditRecord& r : contents->audit) {
      absl::StrAppend(&data, AuditRecordToJson(r), "\n");
    }
  } else {
    absl::StatusOr<std::string> s = SerializePolicySet(contents->state, to);
    if (!s.ok()) return InputError(command, io, s.status().message());
    data = *std::move(s);
  }
  return WriteOutput(command, out_path, data, io);
}

int RunVerify(const Command& command, const std::string& dir,
              const ParsedArgs& args, const Io& io) {
  if (args.positional().size() != 2) {
    return UsageError(command, io, "verify takes DIR only");
  }
  absl::StatusOr<DurableStoreOptions> options = StoreOptions(args);
  if (!options.ok()) return UsageError(command, io, options.status().message());
  options->read_only = true;
  options->verify_history_on_open = true;
  options->checkpoint_after_entries = 0;
  options->checkpoint_after_bytes = 0;
  absl::StatusOr<std::unique_ptr<DurableStore>> store =
      DurableStore::Open(dir, *options);
  absl::Status status = store.status();
  if (store.ok()) status = (*store)->Verify();
  if (!status.ok()) {
    // A store that is not there, or cannot be read, is an input error; one
    // that reads but does not verify is broken.
    if (status.code() != absl::StatusCode::kDataLoss &&
        status.code() != absl::StatusCode::kFailedPrecondition &&
        status.code() != absl::StatusCode::kInvalidArgument) {
      return InputError(command, io, status.message());
    }
    std::fprintf(io.out, "%s: BROKEN: %s\n", dir.c_str(),
                 OneLine(status.message()).c_str());
    return kExitDenied;
  }
  const DurableStoreStats stats = (*store)->stats();
  size_t records = 0;
  const std::vector<std::string> orgs = (*store)->audit_log().Organizations();
  for (const std::string& org : orgs) {
    records += (*store)->audit_log().Records(org).size();
  }
  std::fprintf(io.out,
               "%s: intact: revision %llu (checkpoint at %llu, %llu log "
               "entries after it), %zu audit records in %zu organizations\n",
               dir.c_str(), static_cast<unsigned long long>(stats.revision),
               static_cast<unsigned long long>(stats.checkpoint_revision),
               static_cast<unsigned long long>(stats.entries_since_checkpoint),
               records, orgs.size());
  return kExitOk;
}

int RunCheckpoint(const Command& command, const std::string& dir,
                  const ParsedArgs& args, const Io& io) {
  if (args.positional().size() != 2) {
    return UsageError(command, io, "checkpoint takes DIR only");
  }
  absl::StatusOr<DurableStoreOptions> options = StoreOptions(args);
  if (!options.ok()) return UsageError(command, io, options.status().message());
  options->checkpoint_after_entries = 0;
  options->checkpoint_after_bytes = 0;
  absl::StatusOr<std::unique_ptr<DurableStore>> store =
      DurableStore::Open(dir, *options);
  if (!store.ok()) return InputError(command, io, store.status().message());
  const uint64_t folded = (*store)->stats().entries_since_checkpoint;
  absl::Status s = (*store)->Checkpoint();
  if (!s.ok()) return InputError(command, io, s.message());
  std::fprintf(io.out,
               "%s: checkpoint at revision %llu (%llu log entries "
               "folded in)\n",
               dir.c_str(),
               static_cast<unsigned long long>((*store)->revision()),
               static_cast<unsigned long long>(folded));
  return kExitOk;
}

}  // namespace

int RunStoreCommand(const Command& command, const ParsedArgs& args,
                    const Io& io) {
  const std::vector<std::string>& positional = args.positional();
  if (positional.empty()) {
    return UsageError(command, io,
                      "missing subcommand: init, apply, dump, verify or "
                      "checkpoint");
  }
  const Subcommand* sub = nullptr;
  for (const Subcommand& s : Subcommands()) {
    if (positional[0] == s.name) sub = &s;
  }
  if (sub == nullptr) {
    return UsageError(
        command, io,
        absl::StrCat("unknown subcommand \"", OneLine(positional[0]),
                     "\" (init, apply, dump, verify or "
                     "checkpoint)"));
  }
  for (const FlagSpec& flag : command.flags) {
    if (!args.Has(flag.name)) continue;
    bool allowed = false;
    for (const char* name : sub->flags) {
      if (std::strcmp(name, flag.name) == 0) allowed = true;
    }
    if (!allowed) {
      return UsageError(
          command, io,
          absl::StrCat("--", flag.name, " does not apply to ", sub->name));
    }
  }
  if (positional.size() < 2 || positional[1].empty()) {
    return UsageError(command, io,
                      absl::StrCat(sub->name, ": missing the store's DIR"));
  }
  const std::string& dir = positional[1];
  const std::string name = sub->name;
  if (name == "init") return RunInit(command, dir, args, io);
  if (name == "apply") return RunApply(command, dir, args, io);
  if (name == "dump") return RunDump(command, dir, args, io);
  if (name == "verify") return RunVerify(command, dir, args, io);
  return RunCheckpoint(command, dir, args, io);
}

absl::StatusOr<Compiled> LoadStoreAndCompile(const std::string& dir,
                                             const StateArgs& state) {
  Compiled c;
  const absl::Duration cpu0 = ThreadCpuTime();
  const absl::Time t0 = absl::Now();
  absl::StatusOr<StoreContents> contents = DurableStore::Read(dir);
  if (!contents.ok()) return contents.status();
  c.loaded.state = std::move(contents->state);
  c.loaded.name = dir;
  c.loaded.format = PolicyFormat::kBinary;
  c.loaded.bytes = c.loaded.state.ByteSizeLong();
  const absl::Time t1 = absl::Now();
  const absl::Duration cpu1 = ThreadCpuTime();
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(c.loaded.state, state.options);
  const absl::Time t2 = absl::Now();
  const absl::Duration cpu2 = ThreadCpuTime();
  if (!engine.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir,
                     ": the store's state does not compile with these "
                     "options: ",
                     engine.status().message()));
  }
  c.engine = *std::move(engine);
  c.load_time = t1 - t0;
  c.compile_time = t2 - t1;
  c.load_cpu = cpu1 - cpu0;
  c.compile_cpu = cpu2 - cpu1;
  return c;
}

}  // namespace cli
}  // namespace arbiter
