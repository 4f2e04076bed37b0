// arbiter invite create|list|delete|accept|expire (FILE | --demo) ...
// arbiter sa create|delete|list (FILE | --demo) ...
// arbiter key create|revoke|rotate|list (FILE | --demo) ...  (key hash: see
//                                                             cmd_auth.cc)
//
// Sugar over PolicyStore (arbiter/policy_store.h): each mutating command
// builds one Transaction of identity mutations (proto/arbiter/v1/
// mutation.proto), applies it through a store over the state file, so every
// rule, guard and audit record is the library's, and writes the new state to
// --out. A key's credential is printed once, on the first line; the state
// keeps a salted hash. See docs/identity.md ("The CLI") and docs/cli.md.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "arbiter/policy_io.h"
#include "arbiter/policy_store.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

// ---- Shared pieces -----------------------------------------------------

class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time t) : t_(t) {}
  absl::Time Now() const override { return t_; }

 private:
  absl::Time t_;
};

std::string TimeText(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  if (t == absl::InfinitePast()) return "-";
  return FormatRfc3339(t);
}

absl::string_view KindName(v1::ApiKeyKind kind) {
  switch (kind) {
    case v1::API_KEY_KIND_SERVICE_ACCOUNT:
      return "SERVICE_ACCOUNT";
    case v1::API_KEY_KIND_USER:
      return "USER";
    case v1::API_KEY_KIND_CLI_LOGIN:
      return "CLI_LOGIN";
    default:
      return "UNSPECIFIED";
  }
}

absl::StatusOr<v1::ApiKeyKind> ParseKind(const std::string& text) {
  const std::string k = absl::AsciiStrToLower(text);
  if (k == "user") return v1::API_KEY_KIND_USER;
  if (k == "service-account" || k == "service_account") {
    return v1::API_KEY_KIND_SERVICE_ACCOUNT;
  }
  if (k == "cli-login" || k == "cli_login") return v1::API_KEY_KIND_CLI_LOGIN;
  return absl::InvalidArgumentError(
      absl::StrCat("--kind: \"", OneLine(text),
                   "\" is not user, service-account or cli-login"));
}

// "NAME" or "NAME, RULE": the store's refusal and the identity rule.
std::string RefusalText(const absl::Status& s) {
  std::string out(RefusalName(RefusalOf(s)));
  const IdentityRule rule = IdentityRuleOf(s);
  if (rule != IdentityRule::kNone) {
    absl::StrAppend(&out, ", ", IdentityRuleName(rule));
  }
  return out;
}

// The command line of one invocation: the subcommand, the state, its
// operands, and the options of the store.
struct Invocation {
  std::string sub;
  StateArgs state;
  std::vector<std::string> operands;
  absl::Time now = absl::Now();
  bool at = false;
};

absl::Status ApplyStoreFlags(const ParsedArgs& args, IdentityOptions* o) {
  auto count = [&](const char* flag, int* out) -> absl::Status {
    if (!args.Has(flag)) return absl::OkStatus();
    int v = 0;
    if (!absl::SimpleAtoi(args.Get(flag), &v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, ": \"", OneLine(args.Get(flag)), "\" is not a count"));
    }
    *out = v;
    return absl::OkStatus();
  };
  auto duration = [&](const char* flag, absl::Duration* out) -> absl::Status {
    if (!args.Has(flag)) return absl::OkStatus();
    absl::Duration d;
    if (!absl::ParseDuration(args.Get(flag), &d) || d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": \"", OneLine(args.Get(flag)),
                       "\" is not a positive duration (e.g. 168h)"));
    }
    *out = d;
    return absl::OkStatus();
  };
  if (absl::Status s = count("max-pending", &o->max_pending_invitations);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = count("max-per-day", &o->max_invitations_per_day);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = count("max-keys", &o->max_live_keys_per_principal);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = duration("invitation-ttl", &o->invitation_ttl);
      !s.ok()) {
    return s;
  }
  return duration("cli-login-ttl", &o->cli_login_key_ttl);
}

absl::StatusOr<Invocation> ParseInvocation(
    const ParsedArgs& args, const std::vector<std::string>& subs) {
  Invocation inv;
  const std::vector<std::string>& pos = args.positional();
  if (pos.empty() ||
      std::find(subs.begin(), subs.end(), pos[0]) == subs.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        pos.empty()
            ? "missing subcommand"
            : absl::StrCat("unknown subcommand \"", OneLine(pos[0]), "\""),
        " (", absl::StrJoin(subs, ", "), ")"));
  }
  inv.sub = pos[0];
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return state.status();
  inv.state = *std::move(state);
  size_t next = 1;
  if (!inv.state.demo) {
    if (pos.size() < 2) {
      return absl::InvalidArgumentError("missing FILE (or --demo)");
    }
    inv.state.path = pos[1];
    next = 2;
  }
  inv.operands.assign(pos.begin() + next, pos.end());
  if (absl::Status s = ApplyStoreFlags(args, &inv.state.options.identity);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return at.status();
  if (at->has_value()) {
    inv.now = **at;
    inv.at = true;
  }
  return inv;
}

absl::StatusOr<LoadedState> Load(const Invocation& inv) {
  if (inv.state.demo) return LoadDemoState(false);
  return LoadStateFile(inv.state.path, inv.state.load);
}

// Writes `state` to `path` (format from the extension, else `fallback`)
// through a temporary file renamed into place.
absl::Status WriteState(const v1::PolicySet& state, const std::string& path,
                        PolicyFormat fallback) {
  PolicyFormat format = FormatFromPath(path);
  if (format == PolicyFormat::kAuto) format = fallback;
  if (format == PolicyFormat::kAuto) format = PolicyFormat::kText;
  absl::StatusOr<std::string> data = SerializePolicySet(state, format);
  if (!data.ok()) return data.status();
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  const bool written =
      std::fwrite(data->data(), 1, data->size(), f) == data->size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status AppendAudit(const std::vector<v1::AuditRecord>& records,
                         const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  bool ok = true;
  for (const v1::AuditRecord& r : records) {
    const std::string line = AuditRecordToJson(r) + "\n";
    ok &= std::fwrite(line.data(), 1, line.size(), f) == line.size();
  }
  ok &= std::fclose(f) == 0;
  if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string KeyJson(const IssuedKey& k) {
  std::string out = "{\"key_id\":";
  AppendJsonString(k.key_id, &out);
  out.append(",\"principal_id\":");
  AppendJsonString(k.principal_id, &out);
  absl::StrAppend(&out, ",\"kind\":\"", KindName(k.kind),
                  "\",\"expires_at\":\"", TimeText(k.expires_at),
                  "\",\"credential\":");
  AppendJsonString(k.credential != nullptr ? k.credential->Reveal() : "", &out);
  out.append("}");
  return out;
}

std::string InvitationJson(const InvitationOutcome& o) {
  std::string out = "{\"email\":";
  AppendJsonString(o.email, &out);
  if (o.status.ok()) {
    out.append(",\"invited\":true,\"invitation_id\":");
    AppendJsonString(o.invitation_id, &out);
    out.append(",\"principal_id\":");
    AppendJsonString(o.principal_id, &out);
    absl::StrAppend(&out, ",\"expires_at\":\"", TimeText(o.expires_at), "\"");
    if (!o.replaced_invitation_id.empty()) {
      out.append(",\"replaces\":");
      AppendJsonString(o.replaced_invitation_id, &out);
    }
  } else {
    absl::StrAppend(&out, ",\"invited\":false,\"refusal\":\"",
                    RefusalName(RefusalOf(o.status)), "\",\"rule\":\"",
                    IdentityRuleName(IdentityRuleOf(o.status)),
                    "\",\"message\":");
    AppendJsonString(o.status.message(), &out);
  }
  out.append("}");
  return out;
}

// Applies `txn` through a PolicyStore over the invocation's state and writes
// the new state to --out. Prints the keys (credential first), the
// invitations and a summary line; `describe` adds command-specific lines.
int ApplyAndWrite(const Command& command, const ParsedArgs& args, const Io& io,
                  const Invocation& inv, v1::Transaction txn,
                  const std::function<void(const AppliedTransaction&,
                                           std::string*)>& describe = nullptr) {
  const std::string out_path = args.Get("out");
  if (out_path.empty()) {
    return UsageError(command, io,
                      "missing --out FILE (where the new state goes)");
  }
  if (args.Get("actor").empty()) {
    return UsageError(command, io,
                      "missing --actor (the principal making the change)");
  }
  txn.set_actor(args.Get("actor"));
  if (args.Has("org")) txn.set_org_id(args.Get("org"));
  if (inv.at) {
    txn.mutable_metadata()->mutable_time()->set_seconds(
        absl::ToUnixSeconds(inv.now));
  }
  absl::StatusOr<LoadedState> loaded = Load(inv);
  if (!loaded.ok()) return InputError(command, io, loaded.status().message());
  PolicyStoreOptions options;
  options.engine = inv.state.options;
  if (inv.at) {
    options.clock = std::make_shared<FixedClock>(inv.now);
    options.engine.clock = options.clock;
  }
  const PolicyFormat format = loaded->format;
  const std::string name = loaded->name;
  absl::StatusOr<std::unique_ptr<PolicyStore>> store =
      PolicyStore::Create(std::move(loaded->state), options);
  if (!store.ok()) {
    return InputError(command, io,
                      absl::StrCat(name, ": ", store.status().message()));
  }
  absl::StatusOr<AppliedTransaction> applied = (*store)->Apply(txn);
  const std::string label = absl::StrCat(command.name, " ", inv.sub);
  if (!applied.ok()) {
    std::fprintf(io.err, "arbiter %s: refused (%s): %s\n", label.c_str(),
                 RefusalText(applied.status()).c_str(),
                 std::string(applied.status().message()).c_str());
    return kExitDenied;
  }
  if (absl::Status s = WriteState((*store)->StateCopy(), out_path, format);
      !s.ok()) {
    return InputError(command, io, s.message());
  }
  if (args.Has("audit-log")) {
    if (absl::Status s = AppendAudit(applied->audit, args.Get("audit-log"));
        !s.ok()) {
      return InputError(command, io, s.message());
    }
  }
  if (args.Has("json")) {
    std::string out =
        absl::StrCat("{\"revision\":", applied->revision, ",\"out\":");
    AppendJsonString(out_path, &out);
    out.append(",\"keys\":[");
    for (size_t i = 0; i < applied->identity.keys.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(KeyJson(applied->identity.keys[i]));
    }
    out.append("],\"invitations\":[");
    for (size_t i = 0; i < applied->identity.invitations.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(InvitationJson(applied->identity.invitations[i]));
    }
    absl::StrAppend(&out, "],\"audit_records\":", applied->audit.size(), "}\n");
    std::fputs(out.c_str(), io.out);
    return kExitOk;
  }
  std::string out;
  for (const IssuedKey& k : applied->identity.keys) {
    absl::StrAppend(&out, k.credential->Reveal(), "\n",
                    "# The line above is the credential of key ", k.key_id,
                    " (", KindName(k.kind), ", principal ", k.principal_id,
                    ", expires ", TimeText(k.expires_at),
                    "): it is shown only now.\n");
  }
  for (const InvitationOutcome& o : applied->identity.invitations) {
    if (o.status.ok()) {
      absl::StrAppend(
          &out, "INVITED ", o.email, " invitation=", o.invitation_id,
          " principal=", o.principal_id, " expires=", TimeText(o.expires_at));
      if (!o.replaced_invitation_id.empty()) {
        absl::StrAppend(&out, " replaces=", o.replaced_invitation_id);
      }
      out.append("\n");
    } else {
      absl::StrAppend(&out, "REFUSED ", o.email, " (", RefusalText(o.status),
                      "): ", o.status.message(), "\n");
    }
  }
  if (describe) describe(*applied, &out);
  absl::StrAppend(&out, "revision ", applied->revision, " written to ",
                  out_path, " (", applied->audit.size(), " audit record",
                  applied->audit.size() == 1 ? "" : "s", ")\n");
  std::fputs(out.c_str(), io.out);
  return kExitOk;
}

// The audit records `applied` made, one line each: "ENTITY ACTION id".
void DescribeAudit(const AppliedTransaction& applied, std::string* out) {
  for (const v1::AuditRecord& r : applied.audit) {
    if (r.entity() == audit_entity::kCheckpoint) continue;
    absl::StrAppend(out, r.entity(), " ", r.action(), " ", r.resource_id(),
                    "\n");
  }
}

// ---- Reading the state (list) --------------------------------------------

std::string OrgOf(const v1::PolicySet& state, const ParsedArgs& args) {
  if (args.Has("org")) {
    const std::string org = args.Get("org");
    for (const v1::Organization& o : state.organizations()) {
      if (o.name() == org) return o.id();
    }
    return org;
  }
  return state.organizations_size() == 1 ? state.organizations(0).id() : "";
}

// ---- arbiter invite ------------------------------------------------------

int RunInvite(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<Invocation> inv =
      ParseInvocation(args, {"create", "list", "delete", "accept", "expire"});
  if (!inv.ok()) return UsageError(command, io, inv.status().message());
  v1::Transaction txn;
  v1::Mutation* m = txn.add_mutations();
  if (inv->sub == "list") {
    absl::StatusOr<LoadedState> loaded = Load(*inv);
    if (!loaded.ok()) return InputError(command, io, loaded.status().message());
    const std::string org = OrgOf(loaded->state, args);
    if (org.empty()) {
      return UsageError(command, io,
                        "the state has several organizations: give --org");
    }
    PolicySetView view(loaded->state);
    std::string out;
    for (const v1::Invitation& i :
         ListPendingInvitations(view, org, inv->now)) {
      const absl::Time created =
          absl::FromUnixSeconds(i.created_at().seconds());
      const absl::Time expires =
          absl::FromUnixSeconds(i.expires_at().seconds());
      if (args.Has("json")) {
        std::string line = "{\"id\":";
        AppendJsonString(i.id(), &line);
        line.append(",\"email\":");
        AppendJsonString(i.email(), &line);
        line.append(",\"inviter_id\":");
        AppendJsonString(i.inviter_id(), &line);
        absl::StrAppend(&line, ",\"created_at\":\"", TimeText(created),
                        "\",\"expires_at\":\"", TimeText(expires), "\"}\n");
        out += line;
      } else {
        absl::StrAppend(&out, i.id(), " ", i.email(),
                        " PENDING inviter=", i.inviter_id(),
                        " created=", TimeText(created),
                        " expires=", TimeText(expires), "\n");
      }
    }
    std::fputs(out.c_str(), io.out);
    return kExitOk;
  }
  if (inv->sub == "create") {
    if (inv->operands.empty()) {
      return UsageError(command, io, "give one or more EMAILs to invite");
    }
    auto* x = m->mutable_invite_users();
    for (const std::string& e : inv->operands) {
      for (absl::string_view part : absl::StrSplit(e, ',', absl::SkipEmpty())) {
        x->add_emails(std::string(absl::StripAsciiWhitespace(part)));
      }
    }
    x->set_all_or_nothing(args.Has("all-or-nothing"));
  } else if (inv->sub == "delete") {
    if (inv->operands.size() != 1) {
      return UsageError(command, io, "give one invitation ID or EMAIL");
    }
    m->mutable_delete_invitation()->set_invitation(inv->operands[0]);
  } else if (inv->sub == "accept") {
    if (!inv->operands.empty()) {
      return UsageError(command, io,
                        "accept takes no operand: the --actor accepts its "
                        "own invitation");
    }
    auto* x = m->mutable_accept_invitation();
    x->set_invitation_id(args.Get("invitation"));
    x->set_name(args.Get("name"));
  } else {  // expire
    if (!inv->operands.empty()) {
      return UsageError(command, io, "expire takes no operand");
    }
    m->mutable_expire_invitations();
  }
  return ApplyAndWrite(command, args, io, *inv, std::move(txn),
                       inv->sub == "create" ? nullptr : DescribeAudit);
}

// ---- arbiter sa ----------------------------------------------------------

int RunSa(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<Invocation> inv =
      ParseInvocation(args, {"create", "delete", "list"});
  if (!inv.ok()) return UsageError(command, io, inv.status().message());
  if (inv->sub == "list") {
    absl::StatusOr<LoadedState> loaded = Load(*inv);
    if (!loaded.ok()) return InputError(command, io, loaded.status().message());
    const std::string org = OrgOf(loaded->state, args);
    PolicySetView view(loaded->state);
    std::string out;
    for (const v1::Principal& p : loaded->state.principals()) {
      if (p.kind() != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ||
          (!org.empty() && p.org_id() != org) ||
          (p.state() == v1::PRINCIPAL_STATE_DELETED && !args.Has("all"))) {
        continue;
      }
      int live = 0;
      for (const ApiKeyInfo& k :
           ListApiKeys(view, p.id(), inv->now, inv->state.options.identity)) {
        live += k.status == KeyStatus::kActive;
      }
      const char* state =
          p.state() == v1::PRINCIPAL_STATE_DELETED ? "DELETED" : "ACTIVE";
      if (args.Has("json")) {
        std::string line = "{\"id\":";
        AppendJsonString(p.id(), &line);
        line.append(",\"name\":");
        AppendJsonString(p.name(), &line);
        line.append(",\"email\":");
        AppendJsonString(p.email(), &line);
        absl::StrAppend(&line, ",\"state\":\"", state,
                        "\",\"live_keys\":", live, "}\n");
        out += line;
      } else {
        absl::StrAppend(&out, p.id(), " ", p.name(), " ", p.email(), " ", state,
                        " live_keys=", live, "\n");
      }
    }
    std::fputs(out.c_str(), io.out);
    return kExitOk;
  }
  if (inv->operands.size() != 1) {
    return UsageError(command, io,
                      inv->sub == "create"
                          ? "give the service account's NAME"
                          : "give the service account's NAME, ID or EMAIL");
  }
  v1::Transaction txn;
  v1::Mutation* m = txn.add_mutations();
  if (inv->sub == "create") {
    auto* x = m->mutable_create_service_account();
    x->set_name(inv->operands[0]);
    x->set_principal_id(args.Get("id"));
  } else {
    m->mutable_delete_service_account()->set_principal(inv->operands[0]);
  }
  return ApplyAndWrite(command, args, io, *inv, std::move(txn), DescribeAudit);
}

}  // namespace

// ---- arbiter key create|revoke|rotate|list (called by cmd_auth.cc) -------

int RunKeyStore(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<Invocation> inv =
      ParseInvocation(args, {"create", "revoke", "rotate", "list", "hash"});
  if (!inv.ok()) return UsageError(command, io, inv.status().message());
  for (const char* flag : {"id", "sso-keys", "enforce-sso-optional"}) {
    if (args.Has(flag)) {
      return UsageError(command, io,
                        absl::StrCat("--", flag,
                                     " is a flag of key hash, not "
                                     "of key ",
                                     inv->sub));
    }
  }
  const std::string principal = args.Get("principal");
  if (inv->sub == "list") {
    if (principal.empty()) {
      return UsageError(command, io, "missing --principal (an id or email)");
    }
    absl::StatusOr<LoadedState> loaded = Load(*inv);
    if (!loaded.ok()) return InputError(command, io, loaded.status().message());
    PolicySetView view(loaded->state);
    std::string id = principal;
    if (principal.find('@') != std::string::npos) {
      const std::string org = OrgOf(loaded->state, args);
      const v1::Principal* p = view.FindPrincipalByEmail(org, principal);
      if (p == nullptr) {
        return InputError(command, io,
                          absl::StrCat("no principal \"", OneLine(principal),
                                       "\" (give --org when the state has "
                                       "several organizations)"));
      }
      id = p->id();
    }
    std::string out;
    for (const ApiKeyInfo& k :
         ListApiKeys(view, id, inv->now, inv->state.options.identity)) {
      const char* status = k.status == KeyStatus::kActive    ? "ACTIVE"
                           : k.status == KeyStatus::kExpired ? "EXPIRED"
                                                             : "REVOKED";
      if (args.Has("json")) {
        std::string line = "{\"id\":";
        AppendJsonString(k.id, &line);
        line.append(",\"name\":");
        AppendJsonString(k.name, &line);
        absl::StrAppend(
            &line, ",\"kind\":\"", KindName(k.kind), "\",\"status\":\"", status,
            "\",\"created_at\":\"", TimeText(k.created_at),
            "\",\"expires_at\":\"", TimeText(k.expires_at),
            "\",\"revoked_at\":\"",
            k.status == KeyStatus::kRevoked ? TimeText(k.revoked_at) : "",
            "\"}\n");
        out += line;
      } else {
        absl::StrAppend(&out, k.id, " ", KindName(k.kind), " ", status,
                        " name=", k.name.empty() ? "-" : k.name,
                        " created=", TimeText(k.created_at),
                        " expires=", TimeText(k.expires_at));
        if (k.status == KeyStatus::kRevoked) {
          absl::StrAppend(&out, " revoked=", TimeText(k.revoked_at));
        }
        out.append("\n");
      }
    }
    std::fputs(out.c_str(), io.out);
    return kExitOk;
  }
  v1::Transaction txn;
  if (inv->sub == "revoke") {
    if (args.Has("all")) {
      if (!inv->operands.empty()) {
        return UsageError(command, io, "--all takes no KEY_ID");
      }
      txn.add_mutations()->mutable_revoke_api_keys()->set_principal(principal);
    } else {
      if (inv->operands.empty()) {
        return UsageError(command, io,
                          "give one or more KEY_IDs (or --all [--principal "
                          "P])");
      }
      for (const std::string& id : inv->operands) {
        txn.add_mutations()->mutable_revoke_api_key()->set_key_id(id);
      }
    }
    return ApplyAndWrite(command, args, io, *inv, std::move(txn),
                         DescribeAudit);
  }
  if (!inv->operands.empty()) {
    return UsageError(command, io,
                      absl::StrCat(inv->sub,
                                   " takes no operand (use "
                                   "--principal, --name, --kind)"));
  }
  v1::ApiKeyKind kind = v1::API_KEY_KIND_UNSPECIFIED;
  if (args.Has("kind")) {
    absl::StatusOr<v1::ApiKeyKind> k = ParseKind(args.Get("kind"));
    if (!k.ok()) return UsageError(command, io, k.status().message());
    kind = *k;
  }
  google::protobuf::Timestamp expires;
  if (args.Has("expires")) {
    absl::StatusOr<absl::Time> e = ParseRfc3339(args.Get("expires"));
    if (!e.ok()) {
      return UsageError(command, io,
                        absl::StrCat("--expires: ", e.status().message()));
    }
    expires.set_seconds(absl::ToUnixSeconds(*e));
  }
  v1::Mutation* m = txn.add_mutations();
  if (inv->sub == "create") {
    auto* x = m->mutable_create_api_key();
    x->set_principal(principal);
    x->set_kind(kind);
    x->set_name(args.Get("name"));
    if (args.Has("expires")) *x->mutable_expires_at() = expires;
  } else {
    auto* x = m->mutable_rotate_api_keys();
    x->set_principal(principal);
    x->set_kind(kind);
    x->set_name(args.Get("name"));
    if (args.Has("expires")) *x->mutable_expires_at() = expires;
  }
  return ApplyAndWrite(command, args, io, *inv, std::move(txn),
                       inv->sub == "rotate" ? DescribeAudit : nullptr);
}

// The flags of the commands that apply a transaction.
std::vector<FlagSpec> IdentityStoreFlags() {
  return {{"actor", 0, FlagSpec::kValue, "WHO",
           "the principal making the change (id or email)"},
          {"org", 0, FlagSpec::kValue, "ID|NAME",
           "the organization (for emails several organizations share)"},
          {"out", 'o', FlagSpec::kValue, "FILE",
           "write the new state here (format by extension; may be the input)"},
          {"at", 0, FlagSpec::kValue, "TIME",
           "the instant of the change (RFC 3339; default: now)"},
          {"audit-log", 0, FlagSpec::kValue, "FILE",
           "append the transaction's audit records to FILE, one JSON object "
           "a line (for a chained, verifiable export: arbiter apply --audit)"},
          {"json", 0, FlagSpec::kBool, "", "print the result as JSON"},
          {"max-pending", 0, FlagSpec::kValue, "N",
           "pending invitations per organization (default 20)"},
          {"max-per-day", 0, FlagSpec::kValue, "N",
           "invitations sent per organization in 24 hours (default 20)"},
          {"invitation-ttl", 0, FlagSpec::kValue, "DURATION",
           "how long an invitation stays acceptable (default 168h)"},
          {"max-keys", 0, FlagSpec::kValue, "N",
           "live keys per principal (default 100)"}};
}

const Command& InviteCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = {DemoFlag(), FormatFlag(), MaxBytesFlag(),
                                   OptionFlag()};
    for (const FlagSpec& f : IdentityStoreFlags()) flags.push_back(f);
    flags.push_back({"all-or-nothing", 0, FlagSpec::kBool, "",
                     "create: refuse everything if any email is refused"});
    flags.push_back({"invitation", 0, FlagSpec::kValue, "ID",
                     "accept: the invitation (default: the actor's pending "
                     "one)"});
    flags.push_back(
        {"name", 0, FlagSpec::kValue, "NAME", "accept: the member's name"});
    return new Command{
        "invite",
        "arbiter invite create (FILE | --demo) EMAIL... --actor WHO --out NEW "
        "[flags]\n"
        "       arbiter invite delete (FILE | --demo) ID|EMAIL --actor WHO "
        "--out NEW\n"
        "       arbiter invite accept (FILE | --demo) --actor INVITEE --out "
        "NEW [--name N]\n"
        "       arbiter invite expire (FILE | --demo) --actor WHO --out NEW\n"
        "       arbiter invite list (FILE | --demo) [--org ORG] [--at TIME] "
        "[--json]",
        "invite users; list, delete, accept and expire invitations",
        "Invitations of access-model \xC2\xA7"
        "10.1 through the policy store: org owners\n"
        "invite one or many emails (comma-separated or several operands);\n"
        "each is invited or refused on its own (INVITED / REFUSED lines;\n"
        "--all-or-nothing refuses the whole request instead), within the\n"
        "limits of 20 pending invitations and 20 sent per 24 hours per\n"
        "organization (--max-pending, --max-per-day). Re-inviting a pending\n"
        "address replaces its invitation with a new id; inviting a member\n"
        "fails; invitations are refused when SSO is required or when SCIM is\n"
        "on and a group binding exists. The invitee accepts as --actor and\n"
        "becomes an active member (plus the auto-add role on auto-add\n"
        "clouds). Changes are applied to FILE and written to --out, audited\n"
        "(--audit-log appends the records).\n"
        "\n"
        "Exits 0 when applied (some emails may be REFUSED), 1 when refused,\n"
        "2 on a usage or input error. See docs/identity.md.\n",
        flags,
        &RunInvite};
  }();
  return *command;
}

const Command& SaCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = {DemoFlag(), FormatFlag(), MaxBytesFlag(),
                                   OptionFlag()};
    for (const FlagSpec& f : IdentityStoreFlags()) flags.push_back(f);
    flags.push_back({"id", 0, FlagSpec::kValue, "ID",
                     "create: the service account's principal id "
                     "(default: generated)"});
    flags.push_back(
        {"all", 0, FlagSpec::kBool, "", "list: deleted service accounts too"});
    return new Command{
        "sa",
        "arbiter sa create (FILE | --demo) NAME --actor WHO --out NEW "
        "[flags]\n"
        "       arbiter sa delete (FILE | --demo) NAME|ID|EMAIL --actor WHO "
        "--out NEW\n"
        "       arbiter sa list (FILE | --demo) [--org ORG] [--all] [--json]",
        "create, delete and list service accounts",
        "Service accounts of access-model \xC2\xA7"
        "10.5, org owners only. create makes\n"
        "<name>@org-<org>.serviceaccount.com and its first API key: the\n"
        "credential is printed on the first line, shown only now; the state\n"
        "keeps a salted hash. delete revokes its keys and removes its\n"
        "grants. More keys: 'arbiter key create --principal NAME'.\n"
        "\n"
        "Exits 0 when applied, 1 when refused, 2 on a usage or input error.\n"
        "See docs/identity.md.\n",
        flags,
        &RunSa};
  }();
  return *command;
}

}  // namespace cli
}  // namespace arbiter
