// arbiter profile [FILE | --demo] [--to FORMAT]

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/engine.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "tools/commands.h"

namespace arbiter {
namespace cli {
namespace {

absl::string_view ScopeName(v1::ScopeType scope) {
  switch (scope) {
    case v1::SCOPE_TYPE_ORG:
      return "org";
    case v1::SCOPE_TYPE_CLOUD:
      return "cloud";
    case v1::SCOPE_TYPE_PROJECT:
      return "project";
    default:
      return "unspecified";
  }
}

absl::string_view SubjectName(v1::SubjectKind kind) {
  switch (kind) {
    case v1::SUBJECT_KIND_USER:
      return "users";
    case v1::SUBJECT_KIND_SERVICE_ACCOUNT:
      return "service accounts";
    case v1::SUBJECT_KIND_GROUP:
      return "groups";
    default:
      return "unspecified";
  }
}

std::string Padded(absl::string_view s, size_t width) {
  std::string out(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string Summary(const v1::Profile& p) {
  std::string out =
      absl::StrCat("Profile \"", p.name(), "\": ", p.description(), "\n");
  if (!p.member_role().empty()) {
    absl::StrAppend(&out, "Every active principal holds ", p.member_role(),
                    " in its organization.\n");
  }
  if (!p.auto_add_role().empty()) {
    absl::StrAppend(&out, "Auto-add grants carry ", p.auto_add_role(), ".\n");
  }
  absl::StrAppend(&out, "\nPermissions (", p.permissions_size(), ")\n");
  size_t width = 0;
  for (const v1::Permission& perm : p.permissions()) {
    width = std::max(width, perm.name().size());
  }
  for (v1::ScopeType scope :
       {v1::SCOPE_TYPE_ORG, v1::SCOPE_TYPE_CLOUD, v1::SCOPE_TYPE_PROJECT}) {
    absl::StrAppend(&out, "  ", ScopeName(scope), " level\n");
    for (const v1::Permission& perm : p.permissions()) {
      if (perm.scope() != scope) continue;
      absl::StrAppend(
          &out, "    ", Padded(perm.name(), width + 2), perm.description(),
          perm.forbidden_on_default_project() ? " [never on a default project]"
                                              : "",
          "\n");
    }
  }
  absl::StrAppend(&out, "\nRoles (", p.roles_size(), ")\n");
  for (const v1::Role& role : p.roles()) {
    std::vector<std::string> at, who;
    for (int s : role.grantable_at()) {
      at.emplace_back(ScopeName(static_cast<v1::ScopeType>(s)));
    }
    for (int k : role.subject_kinds()) {
      who.emplace_back(SubjectName(static_cast<v1::SubjectKind>(k)));
    }
    const bool deny = role.effect() == v1::ROLE_EFFECT_DENY;
    absl::StrAppend(
        &out, "  ", role.name(), " (", deny ? "deny" : "allow", "; ",
        at.empty() ? "implied only, never granted"
                   : absl::StrCat("granted at ", absl::StrJoin(at, ", ")),
        who.empty() ? "" : absl::StrCat("; to ", absl::StrJoin(who, ", ")),
        ")\n");
    if (!role.description().empty()) {
      absl::StrAppend(&out, "      ", role.description(), "\n");
    }
    if (role.all_permissions()) {
      absl::StrAppend(&out, "      permissions: all\n");
    } else if (role.permissions_size() > 0) {
      absl::StrAppend(&out, deny ? "      subtracts: " : "      permissions: ",
                      absl::StrJoin(role.permissions(), ", "), "\n");
    }
    if (role.own_workload_permissions_size() > 0) {
      absl::StrAppend(&out, "      on own workloads only: ",
                      absl::StrJoin(role.own_workload_permissions(), ", "),
                      "\n");
    }
    if (!role.public_project_role().empty()) {
      absl::StrAppend(&out, "      implies on public projects: ",
                      role.public_project_role(), "\n");
    }
    if (!role.private_project_role().empty()) {
      absl::StrAppend(&out, "      implies on private projects: ",
                      role.private_project_role(), "\n");
    }
    if (!role.implied_project_role_cap().empty()) {
      absl::StrAppend(&out, "      caps implied project roles at: ",
                      role.implied_project_role_cap(), "\n");
    }
    if (role.exempt_roles_size() > 0) {
      absl::StrAppend(&out, "      does not restrict holders of: ",
                      absl::StrJoin(role.exempt_roles(), ", "), "\n");
    }
    if (role.incompatible_roles_size() > 0) {
      absl::StrAppend(&out, "      incompatible at the same scope with: ",
                      absl::StrJoin(role.incompatible_roles(), ", "), "\n");
    }
    if (!role.project_role_limit().empty()) {
      absl::StrAppend(&out, "      limits project grants below it to: ",
                      role.project_role_limit(), "\n");
    }
  }
  absl::StrAppend(&out, "\nImplicit rules (", p.implicit_rules_size(), ")\n");
  for (const v1::ImplicitRule& rule : p.implicit_rules()) {
    absl::StrAppend(&out, "  ", rule.name(), "\n      ", rule.description(),
                    "\n");
  }
  return out;
}

int RunProfile(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, false);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  PolicyFormat to = PolicyFormat::kAuto;
  if (args.Has("to")) {
    absl::StatusOr<PolicyFormat> f = ParsePolicyFormat(args.Get("to"));
    if (!f.ok() || *f == PolicyFormat::kAuto) {
      return UsageError(command, io,
                        absl::StrCat("--to: unknown format \"", args.Get("to"),
                                     "\" (text, json or binary)"));
    }
    to = *f;
  }
  if (to == PolicyFormat::kBinary && isatty(io.out_fd)) {
    return UsageError(command, io,
                      "refusing to write binary to a terminal; redirect the "
                      "output");
  }
  std::unique_ptr<const Engine> engine;
  if (state->demo || !state->path.empty()) {
    absl::StatusOr<Compiled> compiled = LoadAndCompile(*state);
    if (!compiled.ok())
      return InputError(command, io, compiled.status().message());
    engine = std::move(compiled->engine);
  } else {
    // No state: the built-in profile as the options edit it.
    absl::StatusOr<std::unique_ptr<const Engine>> empty =
        Engine::Create(v1::PolicySet(), state->options);
    if (!empty.ok()) return InputError(command, io, empty.status().message());
    engine = *std::move(empty);
  }
  const v1::Profile& profile = engine->profile();
  std::string out;
  switch (to) {
    case PolicyFormat::kAuto:
      out = Summary(profile);
      break;
    case PolicyFormat::kText:
      google::protobuf::TextFormat::PrintToString(profile, &out);
      break;
    case PolicyFormat::kJson: {
      google::protobuf::util::JsonPrintOptions options;
      options.add_whitespace = true;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(profile, &out, options);
      break;
    }
    case PolicyFormat::kBinary:
      profile.SerializeToString(&out);
      break;
  }
  std::fwrite(out.data(), 1, out.size(), io.out);
  return kExitOk;
}

}  // namespace

const Command& ProfileCommand() {
  static const Command* const command = new Command{
      "profile",
      "arbiter profile [FILE | --demo] [--to text|json|binary] [flags]",
      "print the roles, permissions and implicit rules",
      "Prints the effective profile: the built-in Anyscale profile as the\n"
      "--option flags edit it, plus the custom permissions and roles of FILE\n"
      "if one is given. Without --to, a readable summary; with --to, the\n"
      "v1.Profile message in that format.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"to", 't', FlagSpec::kValue, "FORMAT",
        "print the profile message as text, json or binary"}},
      &RunProfile};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
