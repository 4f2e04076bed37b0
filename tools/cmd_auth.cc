// arbiter auth (FILE | --demo) (--key CREDENTIAL|- | --email EMAIL --org ORG)
// arbiter key hash (FILE | --demo) --principal ID --kind KIND [--name N]
// (key create|revoke|rotate|list: cmd_identity.cc)

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

absl::string_view PrincipalKindName(v1::PrincipalKind kind) {
  switch (kind) {
    case v1::PRINCIPAL_KIND_USER:
      return "USER";
    case v1::PRINCIPAL_KIND_SERVICE_ACCOUNT:
      return "SERVICE_ACCOUNT";
    default:
      return "UNSPECIFIED";
  }
}

absl::string_view KeyKindName(v1::ApiKeyKind kind) {
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

std::string TimeText(absl::Time t) {
  return t == absl::InfiniteFuture() ? "never" : FormatRfc3339(t);
}

// Reads the credential from the input: its first line, at most 4 KiB.
absl::StatusOr<std::string> ReadCredential(int fd) {
  std::string data;
  char buffer[512];
  while (data.size() < 4096) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InvalidArgumentError("cannot read standard input");
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.find('\n') != std::string::npos) break;
  }
  const size_t end = data.find('\n');
  if (end != std::string::npos) data.resize(end);
  if (!data.empty() && data.back() == '\r') data.pop_back();
  return data;
}

absl::Status ApplyIdentityFlags(const ParsedArgs& args,
                                IdentityOptions* options) {
  if (args.Has("sso-keys")) {
    const std::string v = args.Get("sso-keys");
    if (v == "all") {
      options->user_keys_under_required_sso = SsoKeyPolicy::kAllowAllKeys;
    } else if (v == "cli-login") {
      options->user_keys_under_required_sso = SsoKeyPolicy::kCliLoginKeysOnly;
    } else if (v == "none") {
      options->user_keys_under_required_sso = SsoKeyPolicy::kNoUserKeys;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sso-keys: \"", OneLine(v), "\" is not all, cli-login or none"));
    }
  }
  if (args.Has("cli-login-ttl")) {
    absl::Duration d;
    if (!absl::ParseDuration(args.Get("cli-login-ttl"), &d) ||
        d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--cli-login-ttl: \"", OneLine(args.Get("cli-login-ttl")),
          "\" is not a positive duration (e.g. 168h)"));
    }
    options->cli_login_key_ttl = d;
  }
  options->enforce_sso_in_optional_mode = args.Has("enforce-sso-optional");
  return absl::OkStatus();
}

std::string ResultJson(const AuthResult& r) {
  std::string out = "{\"authenticated\":";
  absl::StrAppend(&out, r.authenticated() ? "true" : "false", ",\"reason\":\"",
                  AuthReasonName(r.reason), "\"");
  auto field = [&](absl::string_view name, absl::string_view value) {
    absl::StrAppend(&out, ",\"", name, "\":");
    if (value.empty()) {
      out.append("null");
    } else {
      AppendJsonString(value, &out);
    }
  };
  field("principal", r.principal_id);
  absl::StrAppend(&out, ",\"principal_index\":");
  if (r.authenticated()) {
    absl::StrAppend(&out, r.principal_index);
  } else {
    out.append("null");
  }
  field("org", r.org_id);
  field("principal_kind", r.principal_id.empty()
                              ? absl::string_view()
                              : PrincipalKindName(r.principal_kind));
  field("key", r.key_id);
  field("key_kind", r.key_kind == v1::API_KEY_KIND_UNSPECIFIED
                        ? absl::string_view()
                        : KeyKindName(r.key_kind));
  field("valid_until", r.authenticated() ? TimeText(r.valid_until) : "");
  absl::StrAppend(&out, ",\"revision\":", r.revision, "}\n");
  return out;
}

std::string ResultText(const AuthResult& r) {
  std::string out = r.authenticated() ? std::string("AUTHENTICATED")
                                      : absl::StrCat("UNAUTHENTICATED ",
                                                     AuthReasonName(r.reason));
  if (!r.principal_id.empty()) {
    absl::StrAppend(&out, " principal=", r.principal_id,
                    " kind=", PrincipalKindName(r.principal_kind));
  }
  if (!r.org_id.empty()) absl::StrAppend(&out, " org=", r.org_id);
  if (!r.key_id.empty()) absl::StrAppend(&out, " key=", r.key_id);
  if (r.key_kind != v1::API_KEY_KIND_UNSPECIFIED) {
    absl::StrAppend(&out, " key_kind=", KeyKindName(r.key_kind));
  }
  if (r.authenticated()) {
    absl::StrAppend(&out, " index=", r.principal_index);
    if (!r.key_id.empty()) {
      absl::StrAppend(&out, " valid_until=", TimeText(r.valid_until));
    }
  }
  absl::StrAppend(&out, " revision=", r.revision, "\n");
  return out;
}

int RunAuth(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  const bool by_key = args.Has("key");
  const bool by_email = args.Has("email");
  if (by_key == by_email) {
    return UsageError(command, io, "give exactly one of --key and --email");
  }
  if (by_email && args.Get("org").empty()) {
    return UsageError(command, io, "--email needs --org (an organization id)");
  }
  if (args.Has("sso") && args.Has("magic-link")) {
    return UsageError(command, io, "--sso and --magic-link exclude each other");
  }
  if (by_key && (args.Has("sso") || args.Has("magic-link"))) {
    return UsageError(command, io,
                      "--sso and --magic-link are for --email logins");
  }
  if (by_key && args.Get("key") == "-" && state->path == "-") {
    return UsageError(command, io,
                      "the state and the key cannot both come from stdin");
  }
  IdentityOptions options;
  absl::Status flags = ApplyIdentityFlags(args, &options);
  if (!flags.ok()) return UsageError(command, io, flags.message());
  Channel channel = Channel::kApi;
  if (args.Has("channel")) {
    absl::StatusOr<Channel> c = ParseChannel(args.Get("channel"));
    if (!c.ok()) {
      return UsageError(command, io,
                        absl::StrCat("--channel: ", c.status().message()));
    }
    channel = *c;
  }
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return UsageError(command, io, at.status().message());

  std::string credential;
  if (by_key) {
    credential = args.Get("key");
    if (credential == "-") {
      absl::StatusOr<std::string> read = ReadCredential(io.in_fd);
      if (!read.ok()) return InputError(command, io, read.status().message());
      credential = *std::move(read);
    }
  }

  // The engine indexes the keys with these options (Engine::Authenticate).
  state->options.identity = options;
  absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());
  const std::string org = args.Get("org");
  AuthResult r;
  // An AuthResult's views point into the engine or the index that made it:
  // both live until it is printed.
  absl::StatusOr<std::unique_ptr<const KeyIndex>> index;
  if (by_key) {
    r = compiled->engine->Authenticate(credential, at->value_or(absl::Now()),
                                       AuthContext{channel, org});
  } else {
    index = KeyIndex::Create(compiled->loaded.state, options);
    if (!index.ok()) {
      return InputError(
          command, io,
          absl::StrCat(compiled->loaded.name, ": ", index.status().message()));
    }
    const LoginMethod method = args.Has("sso") ? LoginMethod::kSso
                               : args.Has("magic-link")
                                   ? LoginMethod::kMagicLink
                                   : LoginMethod::kPassword;
    r = (*index)->AuthenticateLogin(org, args.Get("email"), method);
  }
  const std::string out = args.Has("json") ? ResultJson(r) : ResultText(r);
  std::fputs(out.c_str(), io.out);
  if (args.Has("stats")) PrintLoadStats(*compiled, io);
  return r.authenticated() ? kExitOk : kExitDenied;
}

// ---- arbiter key hash ----

int RunKey(const Command& command, const ParsedArgs& args, const Io& io) {
  const std::vector<std::string>& pos = args.positional();
  if (pos.empty() || pos[0] != "hash") {
    // create, revoke, rotate, list: through the store (cmd_identity.cc).
    return RunKeyStore(command, args, io);
  }
  for (const char* flag : {"actor", "out", "audit-log", "all", "max-pending",
                           "max-per-day", "invitation-ttl", "max-keys"}) {
    if (args.Has(flag)) {
      return UsageError(command, io,
                        absl::StrCat("--", flag, " is not a flag of key hash"));
    }
  }
  absl::StatusOr<StateArgs> state = GetStateFlags(args);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  if (state->demo ? pos.size() != 1 : pos.size() != 2) {
    return UsageError(command, io, "give exactly one FILE, or --demo");
  }
  if (!state->demo) state->path = pos[1];
  KeySpec spec;
  spec.principal_id = args.Get("principal");
  if (spec.principal_id.empty()) {
    return UsageError(command, io, "missing --principal (a principal id)");
  }
  const std::string kind = absl::AsciiStrToLower(args.Get("kind", "user"));
  if (kind == "user") {
    spec.kind = v1::API_KEY_KIND_USER;
  } else if (kind == "service-account" || kind == "service_account") {
    spec.kind = v1::API_KEY_KIND_SERVICE_ACCOUNT;
  } else if (kind == "cli-login" || kind == "cli_login") {
    spec.kind = v1::API_KEY_KIND_CLI_LOGIN;
  } else {
    return UsageError(command, io,
                      absl::StrCat("--kind: \"", OneLine(kind),
                                   "\" is not user, service-account or "
                                   "cli-login"));
  }
  spec.name = args.Get("name");
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return UsageError(command, io, at.status().message());
  const absl::Time now = at->value_or(absl::Now());
  if (args.Has("expires")) {
    absl::StatusOr<absl::Time> e = ParseRfc3339(args.Get("expires"));
    if (!e.ok()) {
      return UsageError(command, io,
                        absl::StrCat("--expires: ", e.status().message()));
    }
    spec.expires_at = *e;
  }
  IdentityOptions options;
  absl::Status flags = ApplyIdentityFlags(args, &options);
  if (!flags.ok()) return UsageError(command, io, flags.message());
  const std::string id = args.Get("id");
  if (!id.empty()) {
    options.new_id = [id](absl::string_view) { return id; };
  }

  absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
  if (!compiled.ok())
    return InputError(command, io, compiled.status().message());
  PolicySetView view(compiled->loaded.state);
  absl::StatusOr<NewKeyOutcome> out =
      PlanCreateApiKey(view, spec, now, options);
  if (!out.ok()) {
    std::fprintf(
        io.err, "arbiter key hash: refused (%s): %s\n",
        std::string(IdentityRuleName(IdentityRuleOf(out.status()))).c_str(),
        std::string(out.status().message()).c_str());
    return kExitDenied;
  }
  const v1::ApiKey& record = out->plan.add_api_keys(0);
  if (args.Has("json")) {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(record, &json, o).ok()) {
      return InputError(command, io, "cannot print the record as JSON");
    }
    std::string line = "{\"credential\":";
    AppendJsonString(out->credential.Reveal(), &line);
    absl::StrAppend(&line, ",\"api_key\":", json, "}\n");
    std::fputs(line.c_str(), io.out);
  } else {
    v1::PolicySet only;
    *only.add_api_keys() = record;
    std::string text;
    google::protobuf::TextFormat::PrintToString(only, &text);
    std::fprintf(io.out,
                 "%s\n"
                 "# The line above is the credential: it is shown only now.\n"
                 "# Add this record to the state (a salted SHA-256, no "
                 "secret):\n%s",
                 std::string(out->credential.Reveal()).c_str(), text.c_str());
  }
  return kExitOk;
}

std::vector<FlagSpec> IdentityFlags() {
  return {{"sso-keys", 0, FlagSpec::kValue, "all|cli-login|none",
           "which keys of a user who must use SSO still work (default all)"},
          {"enforce-sso-optional", 0, FlagSpec::kBool, "",
           "SSO mode OPTIONAL enforces SSO for verified domains too"},
          {"cli-login-ttl", 0, FlagSpec::kValue, "DURATION",
           "lifetime of CLI login keys (default 168h)"}};
}

}  // namespace

const Command& AuthCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = {
        DemoFlag(),
        FormatFlag(),
        MaxBytesFlag(),
        OptionFlag(),
        {"key", 0, FlagSpec::kValue, "CREDENTIAL|-",
         "an API key credential (ask_...); - reads it from stdin"},
        {"email", 0, FlagSpec::kValue, "EMAIL", "a console login's email"},
        {"org", 0, FlagSpec::kValue, "ID",
         "the organization (required with --email; with --key, refuses "
         "other organizations' keys)"},
        {"sso", 0, FlagSpec::kBool, "", "the login came through the IdP"},
        {"magic-link", 0, FlagSpec::kBool, "",
         "the login came through an email magic link"},
        {"channel", 0, FlagSpec::kValue, "api|console",
         "where the key is used (default api)"},
        {"at", 0, FlagSpec::kValue, "TIME",
         "judge key expiry at this RFC 3339 instant (default: now)"},
        {"json", 0, FlagSpec::kBool, "", "print the result as a JSON object"},
        StatsFlag()};
    for (FlagSpec f : IdentityFlags()) flags.push_back(f);
    return new Command{
        "auth",
        "arbiter auth (FILE | --demo) --key CREDENTIAL|- [--org ID] "
        "[--channel C] [--at TIME] [flags]\n"
        "       arbiter auth (FILE | --demo) --email EMAIL --org ID [--sso | "
        "--magic-link] [flags]",
        "authenticate an API key or a login: the principal, or why not",
        "With --key, resolves an API key credential (ask_<key id>_<64 hex\n"
        "digits>) to its principal: the key must exist, its secret must match\n"
        "its salted hash, it must be neither revoked nor expired, and its\n"
        "principal must be an active member of the key's organization (of\n"
        "--org when given) that may hold this kind of key. A service account\n"
        "never uses the console (--channel console). Prints AUTHENTICATED and\n"
        "the principal, or UNAUTHENTICATED and the reason. The secret is "
        "never\n"
        "printed; pass the key as - to keep it out of the process list.\n"
        "\n"
        "With --email, decides a console login into --org: a password (the\n"
        "default), --magic-link or --sso login. Where the organization's SSO\n"
        "mode is REQUIRED, a user whose email is in one of its verified\n"
        "domains must use SSO; an SSO login needs a verified domain; service\n"
        "accounts never log in.\n"
        "\n"
        "Exits 0 when authenticated, 1 when not, 2 on a usage or input error.\n"
        "See docs/identity.md.\n",
        flags,
        &RunAuth};
  }();
  return *command;
}

const Command& KeyCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = {
        DemoFlag(),
        FormatFlag(),
        MaxBytesFlag(),
        OptionFlag(),
        {"principal", 0, FlagSpec::kValue, "ID", "the key's principal"},
        {"kind", 0, FlagSpec::kValue, "KIND",
         "user (default), service-account or cli-login"},
        {"name", 0, FlagSpec::kValue, "NAME",
         "the key's name (required for user keys; unique among the "
         "principal's live keys)"},
        {"id", 0, FlagSpec::kValue, "KEY_ID",
         "the key id (default: key_ and 16 random hex digits)"},
        {"expires", 0, FlagSpec::kValue, "TIME",
         "an RFC 3339 expiry (cli-login keys expire after --cli-login-ttl "
         "anyway)"},
        {"at", 0, FlagSpec::kValue, "TIME",
         "the creation instant (default: now)"},
        {"json", 0, FlagSpec::kBool, "",
         "print {\"credential\": ..., \"api_key\": ...} as JSON"}};
    for (FlagSpec f : IdentityFlags()) flags.push_back(f);
    // create, revoke, rotate, list (cmd_identity.cc).
    for (const FlagSpec& f : IdentityStoreFlags()) {
      bool known = false;
      for (const FlagSpec& g : flags) known |= std::string(g.name) == f.name;
      if (!known) flags.push_back(f);
    }
    flags.push_back(
        {"all", 0, FlagSpec::kBool, "",
         "revoke: every key of --principal (default: the actor's)"});
    return new Command{
        "key",
        "arbiter key create (FILE | --demo) --actor WHO [--principal P] "
        "[--kind KIND] [--name NAME] [--expires TIME] --out NEW\n"
        "       arbiter key rotate (FILE | --demo) --actor WHO [--principal P] "
        "[--name NAME] --out NEW\n"
        "       arbiter key revoke (FILE | --demo) KEY_ID... --actor WHO --out "
        "NEW\n"
        "       arbiter key revoke (FILE | --demo) --all [--principal P] "
        "--actor WHO --out NEW\n"
        "       arbiter key list (FILE | --demo) --principal P [--at TIME] "
        "[--json]\n"
        "       arbiter key hash (FILE | --demo) --principal ID [--kind KIND] "
        "[--name NAME] [flags]",
        "create, revoke, rotate and list API keys; mint a key record",
        "create, rotate and revoke apply a transaction to FILE through the\n"
        "policy store and write the new state to --out (access-model \xC2\xA7"
        "10.5):\n"
        "a user makes and rotates its own keys (--principal defaults to the\n"
        "actor; personal keys need a --name unique among its live keys;\n"
        "cli-login keys expire after --cli-login-ttl, default 168h); org\n"
        "owners manage service accounts' keys (--principal NAME|ID) and may\n"
        "revoke anyone's. rotate makes one new key and revokes the others.\n"
        "A new key's credential is printed on the first line, shown only\n"
        "now; the state keeps a random salt and SHA-256(salt || secret).\n"
        "list prints a principal's keys with their status.\n"
        "\n"
        "hash makes a key for a principal of the state without a store: it\n"
        "prints the credential and the api_keys record to add by hand; the\n"
        "state itself is not changed. See docs/identity.md.\n"
        "\n"
        "Exits 0 when done, 1 when a rule refused it, 2 on a usage or input\n"
        "error.\n",
        flags,
        &RunKey};
  }();
  return *command;
}

}  // namespace cli
}  // namespace arbiter
