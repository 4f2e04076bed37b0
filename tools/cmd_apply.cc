// arbiter apply (STATE | --demo) TRANSACTION [--out NEW_STATE] [--audit DIR]
//
// Applies one admin transaction (arbiter/v1/mutation.proto) to a state
// through PolicyStore (arbiter/policy_store.h): authorized, checked against
// every invariant, all or nothing. Prints the new revision and the audit
// records, or the refusal with its code. Writes the new state (--out) and
// exports the audit records (--audit, continuing the log already there)
// only when the transaction applied.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "arbiter/clock.h"
#include "arbiter/identity_outcome.h"
#include "arbiter/identity_rules.h"
#include "arbiter/policy_io.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/mutation.pb.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

namespace fs = std::filesystem;

// --at: every transaction without RequestMetadata.time happens then.
class FixedClock : public Clock {
 public:
  explicit FixedClock(absl::Time t) : t_(t) {}
  absl::Time Now() const override { return t_; }

 private:
  const absl::Time t_;
};

struct ApplyArgs {
  StateArgs state;
  std::string transaction;  // path, or "-"
  std::string out;
  PolicyFormat out_format = PolicyFormat::kAuto;
  std::string audit_dir;
  std::string private_key;
  bool json = false;
  PolicyStoreOptions options;
};

absl::StatusOr<ApplyArgs> GetApplyArgs(const ParsedArgs& args) {
  ApplyArgs a;
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return state.status();
  a.state = *std::move(state);
  const std::vector<std::string>& positional = args.positional();
  const size_t expected = a.state.demo ? 1 : 2;
  if (positional.size() < expected) {
    return absl::InvalidArgumentError(
        a.state.demo ? "missing TRANSACTION"
        : positional.empty()
            ? "missing STATE and TRANSACTION (or --demo TRANSACTION)"
            : "missing TRANSACTION (or give --demo in place of STATE)");
  }
  if (positional.size() > expected) {
    return absl::InvalidArgumentError(
        a.state.demo
            ? absl::StrCat("give a STATE or --demo, not both (got \"",
                           positional[0], "\" and \"", positional[1], "\")")
            : absl::StrCat("unexpected argument \"", positional[2], "\""));
  }
  if (!a.state.demo) a.state.path = positional[0];
  a.transaction = positional.back();
  if (a.state.path == "-" && a.transaction == "-") {
    return absl::InvalidArgumentError(
        "STATE and TRANSACTION cannot both be standard input");
  }
  if (args.Has("out")) {
    a.out = args.Get("out");
    a.out_format = FormatFromPath(a.out);
    if (a.out.empty() || a.out_format == PolicyFormat::kAuto) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out: \"", a.out,
          "\" has no known extension (.textproto, .txtpb, .json, .binpb, "
          "...)"));
    }
  }
  if (args.Has("audit")) {
    a.audit_dir = args.Get("audit");
    if (a.audit_dir.empty()) {
      return absl::InvalidArgumentError("--audit needs a directory");
    }
  }
  if (args.Has("private-key")) {
    if (a.audit_dir.empty()) {
      return absl::InvalidArgumentError(
          "--private-key signs the exported audit log: give --audit DIR");
    }
    a.private_key = args.Get("private-key");
  }
  a.json = args.Has("json");
  a.options.engine = a.state.options;
  if (args.Has("max-mutations")) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(args.Get("max-mutations"), &n) || n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max-mutations: \"", args.Get("max-mutations"),
                       "\" is not a positive integer"));
    }
    a.options.max_mutations = n;
  }
  if (args.Has("at")) {
    absl::StatusOr<absl::Time> at = ParseRfc3339(args.Get("at"));
    if (!at.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--at: ", at.status().message()));
    }
    a.options.clock = std::make_shared<FixedClock>(*at);
  }
  return a;
}

// Reads TRANSACTION: text format, or JSON / binary by its extension (else by
// its content). JSON is strict: a key named twice is refused.
absl::StatusOr<v1::Transaction> ReadTransaction(const std::string& path,
                                                size_t max_bytes) {
  absl::StatusOr<std::string> data = ReadInputFile(path, max_bytes);
  if (!data.ok()) return data.status();
  const std::string source = path == "-" ? "<stdin>" : path;
  v1::Transaction txn;
  absl::Status s =
      ParseTextOrJson(*data, DetectFormat(path, *data), source, &txn);
  if (!s.ok()) return s;
  return txn;
}

// The audit log already exported to `dir`, which this run continues (so
// that `arbiter audit verify DIR` sees one chain per organization): none
// when `dir` does not exist or holds no organization's log; an error when
// it is not a directory, is one organization's directory, or its log does
// not verify.
absl::StatusOr<std::vector<v1::AuditRecord>> ExistingAudit(
    const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return std::vector<v1::AuditRecord>();
  if (!fs::is_directory(st)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit: ", dir, ": not a directory"));
  }
  if (fs::is_directory(fs::path(dir) / "audit_logs", ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--audit: ", dir,
        " is one organization's directory (it holds audit_logs/): give the "
        "export directory above it"));
  }
  bool any = false;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.' &&
        fs::is_directory(e.path() / "audit_logs", ec)) {
      any = true;
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit: ", dir, ": ", ec.message()));
  }
  if (!any) return std::vector<v1::AuditRecord>();
  absl::StatusOr<AuditVerification> v = VerifyAuditExport(dir);
  if (!v.ok()) return v.status();
  if (!v->ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--audit: the log in ", dir,
        " does not verify, so it cannot be continued: ", v->problem->ToString(),
        " (see 'arbiter audit verify ", dir, "')"));
  }
  return ReadAuditExport(dir);
}

// Writes `data` to a new temporary file next to `path`, synced. Returns its
// name; the caller renames it into place or removes it.
absl::StatusOr<std::string> WriteTemporary(const std::string& path,
                                           const std::string& data) {
  const std::string tmp = absl::StrCat(path, ".tmp-apply-", getpid());
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int saved = errno;
  const bool ok = done == data.size() && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": write failed: ", std::strerror(saved ? saved : EIO)));
  }
  return tmp;
}

// The metadata object of `r` as its JSON line has it, or "" when null.
std::string MetadataJson(const v1::AuditRecord& r) {
  if (!r.has_metadata()) return "";
  const std::string j = AuditRecordToJson(r);
  const size_t from = j.find("\"metadata\":");
  const size_t to = j.rfind(",\"user\":{\"name\":");
  if (from == std::string::npos || to == std::string::npos || to < from + 11) {
    return "";
  }
  return j.substr(from + 11, to - from - 11);
}

// "  #4 CLOUD GRANT cld_prod {"principal_id":"usr_grace",...}"
std::string RecordLine(const v1::AuditRecord& r) {
  std::string line = "  ";
  if (r.sequence() > 0) absl::StrAppend(&line, "#", r.sequence(), " ");
  absl::StrAppend(&line, r.entity(), " ", r.action());
  if (!r.resource_id().empty()) absl::StrAppend(&line, " ", r.resource_id());
  if (r.has_checkpoint()) {
    absl::StrAppend(
        &line, " [", r.checkpoint().reason(),
        r.checkpoint().key_id().empty()
            ? ", unsigned]"
            : absl::StrCat(", signed by ", r.checkpoint().key_id(), "]"));
  }
  const std::string metadata = MetadataJson(r);
  if (!metadata.empty()) absl::StrAppend(&line, " ", metadata);
  return OneLine(line);
}

void AppendRecordsJson(const std::vector<v1::AuditRecord>& records,
                       std::string* out) {
  out->append("[");
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) out->append(",");
    out->append(AuditRecordToJson(records[i]));
  }
  out->append("]");
}

void AppendStringsJson(const std::vector<std::string>& strings,
                       std::string* out) {
  out->append("[");
  for (size_t i = 0; i < strings.size(); ++i) {
    if (i > 0) out->append(",");
    AppendJsonString(strings[i], out);
  }
  out->append("]");
}

std::string TimeText(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return FormatRfc3339(t);
}

// "LIMIT_EXCEEDED, INVITE_PENDING_LIMIT": the refusal and, for the identity
// rules, which one.
std::string RefusalText(const absl::Status& status) {
  std::string out(RefusalName(RefusalOf(status)));
  const IdentityRule rule = IdentityRuleOf(status);
  if (rule != IdentityRule::kNone) {
    absl::StrAppend(&out, ", ", IdentityRuleName(rule));
  }
  return out;
}

std::string KindName(v1::ApiKeyKind kind) {
  const std::string& name = v1::ApiKeyKind_Name(kind);
  absl::string_view short_name = name;
  absl::ConsumePrefix(&short_name, "API_KEY_KIND_");
  return std::string(short_name);
}

// The credentials of the keys the transaction made (shown only here) and
// the answer for every email it invited.
void AppendIdentityText(const IdentityOutcome& identity, std::string* out) {
  for (const IssuedKey& k : identity.keys) {
    absl::StrAppend(
        out, "key ", k.key_id, " of ", k.principal_id, " (", KindName(k.kind),
        ", expires ", TimeText(k.expires_at), "), shown only now: ",
        k.credential != nullptr ? k.credential->Reveal() : "", "\n");
  }
  for (const InvitationOutcome& o : identity.invitations) {
    if (o.status.ok()) {
      absl::StrAppend(out, "invited ", o.email, ": principal ", o.principal_id,
                      ", invitation ", o.invitation_id, ", expires ",
                      TimeText(o.expires_at));
      if (!o.replaced_invitation_id.empty()) {
        absl::StrAppend(out, ", replaces ", o.replaced_invitation_id);
      }
      out->append("\n");
    } else {
      absl::StrAppend(out, "not invited ", o.email, ": ", RefusalText(o.status),
                      ": ", OneLine(o.status.message()), "\n");
    }
  }
}

void AppendIdentityJson(const IdentityOutcome& identity, std::string* out) {
  out->append("\"keys\":[");
  for (size_t i = 0; i < identity.keys.size(); ++i) {
    const IssuedKey& k = identity.keys[i];
    if (i > 0) out->append(",");
    absl::StrAppend(out, "{\"mutation\":", k.mutation, ",\"principal_id\":");
    AppendJsonString(k.principal_id, out);
    out->append(",\"key_id\":");
    AppendJsonString(k.key_id, out);
    out->append(",\"kind\":");
    AppendJsonString(KindName(k.kind), out);
    out->append(",\"expires_at\":");
    if (k.expires_at == absl::InfiniteFuture()) {
      out->append("null");
    } else {
      AppendJsonString(FormatRfc3339(k.expires_at), out);
    }
    out->append(",\"credential\":");
    AppendJsonString(k.credential != nullptr ? k.credential->Reveal() : "",
                     out);
    out->append("}");
  }
  out->append("],\"invitations\":[");
  for (size_t i = 0; i < identity.invitations.size(); ++i) {
    const InvitationOutcome& o = identity.invitations[i];
    if (i > 0) out->append(",");
    absl::StrAppend(out, "{\"mutation\":", o.mutation, ",\"email\":");
    AppendJsonString(o.email, out);
    absl::StrAppend(out, ",\"invited\":", o.status.ok() ? "true" : "false");
    if (o.status.ok()) {
      out->append(",\"principal_id\":");
      AppendJsonString(o.principal_id, out);
      out->append(",\"invitation_id\":");
      AppendJsonString(o.invitation_id, out);
      out->append(",\"expires_at\":");
      AppendJsonString(TimeText(o.expires_at), out);
    } else {
      out->append(",\"refusal\":");
      AppendJsonString(RefusalText(o.status), out);
      out->append(",\"message\":");
      AppendJsonString(o.status.message(), out);
    }
    out->append("}");
  }
  out->append("]");
}

int PrintRefusal(const absl::Status& status, uint64_t revision, bool json,
                 const Io& io) {
  const std::string refusal(RefusalName(RefusalOf(status)));
  const std::string code = absl::StatusCodeToString(status.code());
  if (json) {
    std::string out = "{\"outcome\":\"refused\",\"refusal\":";
    AppendJsonString(refusal, &out);
    out.append(",\"rule\":");
    const IdentityRule rule = IdentityRuleOf(status);
    if (rule == IdentityRule::kNone) {
      out.append("null");
    } else {
      AppendJsonString(IdentityRuleName(rule), &out);
    }
    out.append(",\"code\":");
    AppendJsonString(code, &out);
    out.append(",\"message\":");
    AppendJsonString(status.message(), &out);
    absl::StrAppend(&out, ",\"revision\":", revision, "}\n");
    std::fputs(out.c_str(), io.out);
  } else {
    std::fprintf(io.out, "refused: %s (%s): %s\n", RefusalText(status).c_str(),
                 code.c_str(), OneLine(status.message()).c_str());
    std::fprintf(io.out,
                 "the state stays at revision %llu; nothing was written\n",
                 static_cast<unsigned long long>(revision));
  }
  return kExitDenied;
}

int RunApply(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<ApplyArgs> parsed = GetApplyArgs(args);
  if (!parsed.ok()) return UsageError(command, io, parsed.status().message());
  ApplyArgs& a = *parsed;

  // ---- Inputs: the state, the transaction, the audit log to continue.
  LoadedState loaded;
  if (a.state.demo) {
    loaded = LoadDemoState(false);
  } else {
    absl::StatusOr<LoadedState> l = LoadStateFile(a.state.path, a.state.load);
    if (!l.ok()) return InputError(command, io, l.status().message());
    loaded = *std::move(l);
  }
  absl::StatusOr<v1::Transaction> txn =
      ReadTransaction(a.transaction, a.state.load.max_bytes);
  if (!txn.ok()) return InputError(command, io, txn.status().message());
  std::vector<v1::AuditRecord> existing;
  if (!a.audit_dir.empty()) {
    absl::StatusOr<std::vector<v1::AuditRecord>> e = ExistingAudit(a.audit_dir);
    if (!e.ok()) return InputError(command, io, e.status().message());
    existing = *std::move(e);
  }
  AuditLogOptions export_options;
  if (!a.private_key.empty()) {
    absl::StatusOr<std::shared_ptr<const AuditSigningKey>> key =
        AuditSigningKey::FromPemFile(a.private_key);
    if (!key.ok()) return InputError(command, io, key.status().message());
    a.options.audit.signing_key = *key;
    export_options.signing_key = *std::move(key);
  }
  export_options.clock = a.options.clock.get();

  absl::StatusOr<std::unique_ptr<PolicyStore>> store =
      PolicyStore::Create(loaded.state, a.options, existing);
  if (!store.ok()) {
    return InputError(command, io,
                      absl::StrCat(loaded.name, ": ", store.status().message(),
                                   " (run 'arbiter validate' to list every "
                                   "problem)"));
  }
  const uint64_t base = (*store)->revision();

  // ---- Apply.
  absl::StatusOr<AppliedTransaction> applied = (*store)->Apply(*txn);
  if (!applied.ok()) {
    if (RefusalOf(applied.status()) == Refusal::kNone) {
      // Not a verdict on the transaction: the store failed.
      return InputError(command, io, applied.status().ToString());
    }
    return PrintRefusal(applied.status(), base, a.json, io);
  }
  const bool dry_run = applied->revision == base;
  if (!dry_run && !a.audit_dir.empty()) {
    // The log in DIR must follow this state: a log that already holds this
    // revision (or a later one) of the organization records another history
    // (e.g. the same transaction applied twice to the original file).
    std::map<std::string, uint64_t> last;  // org -> its latest revision
    for (const v1::AuditRecord& e : existing) {
      uint64_t& rev = last[e.org_id()];
      rev = std::max(rev, e.revision());
    }
    for (const v1::AuditRecord& r : applied->audit) {
      auto it = last.find(r.org_id());
      if (it != last.end() && it->second >= applied->revision) {
        return InputError(
            command, io,
            absl::StrCat("--audit: the log in ", a.audit_dir,
                         " already records revision ", it->second,
                         " of organization ", r.org_id(), ", but ", loaded.name,
                         " is at revision ", base,
                         ": apply to the state that log follows (the one "
                         "written with --out); nothing was written"));
      }
    }
  }

  // ---- Outputs, only for a change: the state to a temporary file, then the
  // audit export (all or nothing by itself), then the state into place.
  std::string tmp;
  if (!dry_run && !a.out.empty()) {
    absl::StatusOr<std::string> data =
        SerializePolicySet((*store)->StateCopy(), a.out_format);
    if (!data.ok()) return InputError(command, io, data.status().message());
    absl::StatusOr<std::string> t = WriteTemporary(a.out, *data);
    if (!t.ok()) return InputError(command, io, t.status().message());
    tmp = *std::move(t);
  }
  AuditExportResult exported;
  if (!dry_run && !a.audit_dir.empty()) {
    // A log holding exactly what was exported before plus this
    // transaction's records, whose Export writes the new ones.
    std::vector<v1::AuditRecord> all = std::move(existing);
    all.insert(all.end(), applied->audit.begin(), applied->audit.end());
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Create(export_options, all);
    absl::StatusOr<AuditExportResult> e =
        log.ok() ? (*log)->Export(a.audit_dir)
                 : absl::StatusOr<AuditExportResult>(log.status());
    if (!e.ok()) {
      if (!tmp.empty()) unlink(tmp.c_str());
      return InputError(command, io,
                        absl::StrCat("--audit: ", e.status().message(),
                                     " (nothing was written)"));
    }
    exported = *std::move(e);
    std::sort(exported.files.begin(), exported.files.end());
  }
  if (!tmp.empty() && std::rename(tmp.c_str(), a.out.c_str()) != 0) {
    const int saved = errno;
    unlink(tmp.c_str());
    return InputError(
        command, io,
        absl::StrCat(a.out, ": ", std::strerror(saved),
                     exported.files.empty()
                         ? ""
                         : " (the audit records were exported already)"));
  }

  // ---- Report.
  const std::vector<v1::AuditRecord>& records = applied->audit;
  if (a.json) {
    std::string out = absl::StrCat(
        "{\"outcome\":\"", dry_run ? "dry_run" : "applied",
        "\",\"base_revision\":", base, ",\"revision\":", applied->revision,
        ",\"incremental\":", applied->incremental ? "true" : "false", ",");
    AppendIdentityJson(applied->identity, &out);
    out.append(",\"audit\":");
    AppendRecordsJson(records, &out);
    out.append(",\"out\":");
    if (tmp.empty()) {
      out.append("null");
    } else {
      AppendJsonString(a.out, &out);
    }
    out.append(",\"audit_files\":");
    AppendStringsJson(exported.files, &out);
    out.append("}\n");
    std::fputs(out.c_str(), io.out);
    return kExitOk;
  }
  if (dry_run) {
    std::fprintf(io.out,
                 "dry run at revision %llu: nothing changed; %zu audit "
                 "record%s say what would:\n",
                 static_cast<unsigned long long>(base), records.size(),
                 records.size() == 1 ? "" : "s");
  } else {
    std::fprintf(io.out,
                 "applied: revision %llu -> %llu (%zu audit record%s; "
                 "published %s)\n",
                 static_cast<unsigned long long>(base),
                 static_cast<unsigned long long>(applied->revision),
                 records.size(), records.size() == 1 ? "" : "s",
                 applied->incremental ? "incrementally" : "by a full compile");
  }
  for (const v1::AuditRecord& r : records) {
    std::fprintf(io.out, "%s\n", RecordLine(r).c_str());
  }
  std::string identity;
  AppendIdentityText(applied->identity, &identity);
  std::fputs(identity.c_str(), io.out);
  if (dry_run && (!a.out.empty() || !a.audit_dir.empty())) {
    std::fprintf(io.out, "nothing was written (a dry run)\n");
  }
  if (!tmp.empty()) {
    std::fprintf(io.out, "wrote %s (%s, revision %llu)\n", a.out.c_str(),
                 std::string(PolicyFormatName(a.out_format)).c_str(),
                 static_cast<unsigned long long>(applied->revision));
  }
  if (!exported.files.empty()) {
    std::fprintf(io.out, "exported %llu audit records to %s:\n",
                 static_cast<unsigned long long>(exported.records),
                 a.audit_dir.c_str());
    for (const std::string& f : exported.files) {
      std::fprintf(io.out, "  %s\n", f.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

const Command& ApplyCommand() {
  static const Command* const command = new Command{
      "apply",
      "arbiter apply (STATE | --demo) TRANSACTION [--out NEW_STATE]\n"
      "              [--audit DIR [--private-key KEY.pem]] [--json]",
      "apply an admin transaction: the new revision, or why it is refused",
      "Applies TRANSACTION (an arbiter.v1.Transaction: the actor and its\n"
      "mutations, in text format, or JSON by the .json extension) to the\n"
      "state through PolicyStore, all or nothing: the actor must hold each\n"
      "mutation's guarding permission, and the result must keep every\n"
      "invariant of access-model \xC2\xA7"
      "4.3 and \xC2\xA7"
      "10 (docs/admin.md).\n"
      "\n"
      "Applied (exit 0): prints the new revision and the audit records;\n"
      "--out writes the new state (the format by its extension, as\n"
      "'arbiter convert' does) and --audit exports the records as JSON\n"
      "Lines under DIR, continuing the log already there, for 'arbiter\n"
      "audit verify DIR'. A scim_enforce_groups dry run changes nothing and\n"
      "writes nothing; its records say what would change.\n"
      "Refused (exit 1): prints the refusal code (LAST_ORG_OWNER,\n"
      "NO_CLOUD_GRANT, PERMISSION_DENIED, ...), the status code and the\n"
      "message; nothing is written.\n"
      "Exit 2: a usage error, or a state, transaction, key or audit log\n"
      "that cannot be read (a log in DIR that does not verify included).\n"
      "\n"
      "--format, --max-bytes and --option apply to STATE, as for the other\n"
      "commands (--max-bytes bounds TRANSACTION too).\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"out", 'o', FlagSpec::kValue, "NEW_STATE",
        "write the new state there when applied (.textproto, .json, .binpb)"},
       {"audit", 0, FlagSpec::kValue, "DIR",
        "export the audit records to DIR when applied"},
       {"private-key", 0, FlagSpec::kValue, "KEY.pem",
        "sign the exported audit checkpoints with this Ed25519 key"},
       {"json", 0, FlagSpec::kBool, "", "print the outcome as one JSON object"},
       {"max-mutations", 0, FlagSpec::kValue, "N",
        "refuse larger transactions (TOO_LARGE; default 10000)"},
       {"at", 0, FlagSpec::kValue, "TIME",
        "the time of a transaction without metadata.time (default: now)"}},
      &RunApply};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
