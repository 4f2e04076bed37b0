// arbiter audit (verify | show | keygen | demo) ...

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "tools/commands.h"

namespace arbiter {
namespace cli {
namespace {

// Which flags each subcommand takes (the command's table has them all).
struct Subcommand {
  const char* name;
  std::vector<const char*> flags;
};

const std::vector<Subcommand>& Subcommands() {
  static const auto* const subs = new std::vector<Subcommand>{
      {"verify", {"public-key"}},
      {"show", {"json"}},
      {"keygen", {"private", "public"}},
      {"demo", {"private-key"}},
  };
  return *subs;
}

// DIR/FILE, without a doubled slash.
std::string Under(const std::string& dir, const std::string& file) {
  if (dir.empty() || dir.back() == '/') return dir + file;
  return absl::StrCat(dir, "/", file);
}

std::string ExportTimeText(int64_t t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t),
                          absl::UTCTimeZone());
}

int RunVerify(const Command& command, const std::string& dir,
              const ParsedArgs& args, const Io& io) {
  AuditVerifyOptions options;
  for (const std::string& path : args.GetAll("public-key")) {
    absl::StatusOr<std::shared_ptr<const AuditPublicKey>> key =
        AuditPublicKey::FromPemFile(path);
    if (!key.ok()) return InputError(command, io, key.status().message());
    options.public_keys.push_back(*std::move(key));
  }
  absl::StatusOr<AuditVerification> v = VerifyAuditExport(dir, options);
  if (!v.ok()) return InputError(command, io, v.status().message());
  if (!v->ok()) {
    const AuditProblem& p = *v->problem;
    std::string where = p.file == dir ? dir : Under(dir, p.file);
    if (p.line > 0) absl::StrAppend(&where, ":", p.line);
    std::fprintf(io.out, "%s: %s%s\n", where.c_str(),
                 p.sequence > 0
                     ? absl::StrCat("sequence ", p.sequence, ": ").c_str()
                     : "",
                 OneLine(p.what).c_str());
    std::fprintf(io.out, "%s: BROKEN (the first problem is above)\n",
                 dir.c_str());
    return kExitDenied;
  }
  std::fprintf(io.out, "%s: %s\n", dir.c_str(), v->Summary().c_str());
  for (const auto& [org, last] : v->last_sequence) {
    const auto t = v->last_export_time.find(org);
    std::fprintf(io.out, "  %s: sequences 1..%llu, last export %lld (%s)\n",
                 org.c_str(), static_cast<unsigned long long>(last),
                 static_cast<long long>(t->second),
                 ExportTimeText(t->second).c_str());
  }
  return kExitOk;
}

int RunShow(const Command& command, const std::string& dir,
            const ParsedArgs& args, const Io& io) {
  absl::StatusOr<std::vector<v1::AuditRecord>> records = ReadAuditExport(dir);
  if (records.status().code() == absl::StatusCode::kInvalidArgument) {
    std::fprintf(io.out, "%s\n", OneLine(records.status().message()).c_str());
    return kExitDenied;
  }
  if (!records.ok()) return InputError(command, io, records.status().message());
  const bool json = args.Has("json");
  for (const v1::AuditRecord& r : *records) {
    if (json) {
      std::fprintf(io.out, "%s\n", AuditRecordToJson(r).c_str());
      continue;
    }
    std::string line =
        absl::StrCat(r.org_id(), " #", r.sequence(), " ", r.timestamp(), " ",
                     r.entity(), " ", r.action());
    if (!r.resource_id().empty()) absl::StrAppend(&line, " ", r.resource_id());
    if (!r.user_id().empty()) {
      absl::StrAppend(&line, " by ", r.user_id());
      if (!r.user().email().empty()) {
        absl::StrAppend(&line, " <", r.user().email(), ">");
      }
    }
    if (!r.source_ip().empty()) absl::StrAppend(&line, " from ", r.source_ip());
    absl::StrAppend(&line, " revision ", r.revision());
    if (r.has_refusal()) {
      absl::StrAppend(&line, " REFUSED ", r.refusal().code(), ": ",
                      r.refusal().message());
    }
    if (r.has_checkpoint()) {
      absl::StrAppend(
          &line, " [", r.checkpoint().reason(),
          r.checkpoint().key_id().empty()
              ? ", unsigned"
              : absl::StrCat(", signed by ", r.checkpoint().key_id()).c_str(),
          "]");
    }
    if (r.has_metadata()) {
      // The metadata object exactly as the JSON line has it.
      const std::string j = AuditRecordToJson(r);
      const size_t from = j.find("\"metadata\":") + 11;
      const size_t to = j.find(",\"user\":{");
      absl::StrAppend(&line, " ", j.substr(from, to - from));
    }
    std::fprintf(io.out, "%s\n", OneLine(line).c_str());
  }
  std::fprintf(io.err,
               "(%zu records, not verified: run 'arbiter audit verify %s')\n",
               records->size(), dir.c_str());
  return kExitOk;
}

// Creates `path` with `mode`, failing if it exists.
absl::Status WriteNew(const std::string& path, const std::string& data,
                      mode_t mode) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::strerror(errno),
                     errno == EEXIST ? " (refusing to overwrite a key)" : ""));
  }
  const ssize_t n = write(fd, data.data(), data.size());
  const bool ok = n == static_cast<ssize_t>(data.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot write"));
  }
  return absl::OkStatus();
}

int RunKeygen(const Command& command, const ParsedArgs& args, const Io& io) {
  if (!args.Has("private") || !args.Has("public")) {
    return UsageError(
        command, io, "keygen needs --private OUT.pem and --public OUT.pub.pem");
  }
  const std::string private_path = args.Get("private");
  const std::string public_path = args.Get("public");
  if (private_path == public_path) {
    return UsageError(command, io, "--private and --public name the same file");
  }
  absl::StatusOr<std::shared_ptr<const AuditSigningKey>> key =
      AuditSigningKey::Generate();
  if (!key.ok()) return InputError(command, io, key.status().message());
  absl::Status s = WriteNew(private_path, (*key)->ToPem(), 0600);
  if (!s.ok()) return InputError(command, io, s.message());
  s = WriteNew(public_path, (*key)->public_key()->ToPem(), 0644);
  if (!s.ok()) {
    unlink(private_path.c_str());
    return InputError(command, io, s.message());
  }
  std::fprintf(io.out,
               "key %s: private key in %s (keep it secret; the exporter signs "
               "with it), public key in %s (for verifiers)\n",
               (*key)->key_id().c_str(), private_path.c_str(),
               public_path.c_str());
  return kExitOk;
}

// A short admin session on the demo organization, exported twice.
int RunDemo(const Command& command, const std::string& dir,
            const ParsedArgs& args, const Io& io) {
  AuditLogOptions options;
  options.checkpoint_interval = 4;
  if (args.Has("private-key")) {
    absl::StatusOr<std::shared_ptr<const AuditSigningKey>> key =
        AuditSigningKey::FromPemFile(args.Get("private-key"));
    if (!key.ok()) return InputError(command, io, key.status().message());
    options.signing_key = *std::move(key);
  }
  std::error_code ec;
  if (std::filesystem::exists(Under(dir, "org_123"), ec)) {
    return InputError(command, io,
                      absl::StrCat(Under(dir, "org_123"),
                                   " exists: the demo writes a new log (pick "
                                   "another DIR)"));
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Create(options);
  if (!log.ok()) return InputError(command, io, log.status().message());
  const AuditActor alice{"usr_alice", "Alice", "alice@acme.com", "10.0.0.7"};
  const AuditActor mallory{"usr_mallory", "Mallory", "mallory@acme.com",
                           "203.0.113.9"};
  std::vector<v1::AuditRecord> first;
  first.push_back(NewAuditRecord(
      alice,
      {"org_123", audit_action::kInvite, audit_entity::kUser, "usr_nina", 8},
      {{"invitee_email", "nina@acme.com"}}));
  first.push_back(NewAuditRecord(
      AuditActor{"usr_nina", "Nina", "nina@acme.com", "10.0.0.21"},
      {"org_123", audit_action::kJoin, audit_entity::kUser, "usr_nina", 9}));
  first.push_back(NewAuditRecord(
      alice,
      {"org_123", audit_action::kModify, audit_entity::kUser, "usr_bob", 10},
      {{"modifee_id", "usr_bob"},
       {"old_role", "collaborator"},
       {"new_role", "owner"}}));
  first.push_back(NewAuditRecord(
      alice,
      {"org_123", audit_action::kGrant, audit_entity::kProject, "prj_ml_prod",
       11},
      {{"principal_id", "usr_nina"}, {"role", "project_collaborator"}}));
  first.push_back(NewAuditRecord(
      alice,
      {"org_123", audit_action::kCreate, audit_entity::kServiceAccount,
       "sa_deploy", 12},
      {{"id", "sa_deploy"}, {"email", "deploy@org-123.serviceaccount.com"}}));
  v1::AuditRecord refused =
      NewAuditRecord(mallory,
                     {"org_123", audit_action::kModify, audit_entity::kUser,
                      "usr_mallory", 12},
                     {{"modifee_id", "usr_mallory"},
                      {"old_role", "collaborator"},
                      {"new_role", "owner"}});
  SetAuditRefusal(&refused, absl::PermissionDeniedError(
                                "usr_mallory lacks org.users.manage on org_123 "
                                "(NEEDS_ORG_OWNER)"));
  first.push_back(refused);
  std::vector<v1::AuditRecord> second;
  v1::AuditRecord budget = NewAuditRecord(
      alice,
      {"org_123", audit_action::kModify, audit_entity::kBudget, "bdg_ml", 13},
      {{"id", "bdg_ml"}});
  SetAuditMetadataBool(&budget, "is_enabled", true);
  SetAuditMetadataNumber(&budget, "amount_credits", 5000);
  second.push_back(budget);
  second.push_back(NewAuditRecord(
      alice,
      {"org_123", audit_action::kRemove, audit_entity::kUser, "usr_judy", 14},
      {{"removee_id", "usr_judy"}}));
  std::vector<std::string> files;
  for (auto* batch : {&first, &second}) {
    absl::StatusOr<std::vector<v1::AuditRecord>> appended =
        (*log)->Append(*batch);
    if (!appended.ok()) {
      return InputError(command, io, appended.status().message());
    }
    absl::StatusOr<AuditExportResult> exported = (*log)->Export(dir);
    if (!exported.ok()) {
      return InputError(command, io, exported.status().message());
    }
    files.insert(files.end(), exported->files.begin(), exported->files.end());
  }
  const AuditHead head = (*log)->Head("org_123");
  const std::string signing = options.signing_key != nullptr
                                  ? absl::StrCat("checkpoints signed by key ",
                                                 options.signing_key->key_id())
                                  : std::string("unsigned checkpoints");
  std::fprintf(io.out, "wrote %zu files, %llu records of org_123 (%s):\n",
               files.size(), static_cast<unsigned long long>(head.sequence),
               signing.c_str());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) std::fprintf(io.out, "  %s\n", f.c_str());
  return kExitOk;
}

int RunAudit(const Command& command, const ParsedArgs& args, const Io& io) {
  const std::vector<std::string>& positional = args.positional();
  if (positional.empty()) {
    return UsageError(command, io,
                      "missing SUBCOMMAND: verify, show, keygen or demo");
  }
  const std::string& name = positional[0];
  const Subcommand* sub = nullptr;
  for (const Subcommand& s : Subcommands()) {
    if (name == s.name) sub = &s;
  }
  if (sub == nullptr) {
    return UsageError(command, io,
                      absl::StrCat("unknown subcommand \"", name,
                                   "\" (verify, show, keygen or demo)"));
  }
  for (const FlagSpec& flag : command.flags) {
    if (!args.Has(flag.name)) continue;
    bool allowed = false;
    for (const char* f : sub->flags)
      allowed = allowed || std::strcmp(f, flag.name) == 0;
    if (!allowed) {
      return UsageError(
          command, io,
          absl::StrCat("--", flag.name, " does not apply to '", name, "'"));
    }
  }
  const bool wants_dir = name != "keygen";
  const size_t expected = wants_dir ? 2 : 1;
  if (positional.size() < expected) {
    return UsageError(command, io, absl::StrCat(name, ": missing DIR"));
  }
  if (positional.size() > expected) {
    return UsageError(command, io,
                      absl::StrCat(name, ": unexpected argument \"",
                                   positional[expected], "\""));
  }
  if (name == "verify") return RunVerify(command, positional[1], args, io);
  if (name == "show") return RunShow(command, positional[1], args, io);
  if (name == "keygen") return RunKeygen(command, args, io);
  return RunDemo(command, positional[1], args, io);
}

}  // namespace

const Command& AuditCommand() {
  static const Command* const command = new Command{
      "audit",
      "arbiter audit verify DIR [--public-key PUB.pem]...\n"
      "       arbiter audit show DIR [--json]\n"
      "       arbiter audit keygen --private KEY.pem --public PUB.pem\n"
      "       arbiter audit demo DIR [--private-key KEY.pem]",
      "verify, read and sign exported audit logs",
      "Audit logs (access-model \xC2\xA7"
      "9) are exported as JSON Lines at\n"
      "DIR/ORG/audit_logs/ENTITY/UNIX_SECONDS.log.jsonl; the records of each\n"
      "organization form a hash chain, closed at each export by a checkpoint\n"
      "that the exporter signs with an Ed25519 key (docs/audit.md).\n"
      "\n"
      "verify DIR   checks every organization's chain under DIR (an export\n"
      "             directory, or one ORG directory): each line parses, sits\n"
      "             in its organization's, entity's and export's file, links\n"
      "             to the previous record by hash, and the log ends with an\n"
      "             export checkpoint. With --public-key (repeatable, for key\n"
      "             rotation) every checkpoint from the first signed one on\n"
      "             must carry a valid signature by one of the keys. Prints a\n"
      "             summary and exits 0 when intact; prints the first broken\n"
      "             record as FILE:LINE: sequence N: what is wrong, and exits\n"
      "             1; exits 2 when DIR or a key cannot be read.\n"
      "show DIR     prints the records in order, one per line (--json: as\n"
      "             JSON Lines), without verifying them.\n"
      "keygen       writes a new Ed25519 key pair: the private key (PKCS#8\n"
      "             PEM, mode 0600) for the exporter, the public key for\n"
      "             verifiers. Never overwrites a file.\n"
      "demo DIR     writes a small signed (with --private-key) or unsigned\n"
      "             log of the demo organization (org_123), in two exports,\n"
      "             to try verify and show on.\n",
      {{"public-key", 'k', FlagSpec::kRepeated, "PUB.pem",
        "verify: accept checkpoints signed by this Ed25519 public key"},
       {"json", 0, FlagSpec::kBool, "", "show: print JSON Lines"},
       {"private", 0, FlagSpec::kValue, "KEY.pem",
        "keygen: where to write the private key"},
       {"public", 0, FlagSpec::kValue, "PUB.pem",
        "keygen: where to write the public key"},
       {"private-key", 0, FlagSpec::kValue, "KEY.pem",
        "demo: sign the checkpoints with this private key"}},
      &RunAudit};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
