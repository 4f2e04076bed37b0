// arbiter convert (FILE | --demo) --to FORMAT [-o OUT]

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arbiter/policy_io.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "src/internal/names.h"
#include "tools/commands.h"
#include "tools/text_locator.h"

namespace arbiter {
namespace cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// "ComputeConfig" -> "compute config".
std::string Words(absl::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c))) {
      if (!out.empty()) out.push_back(' ');
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct BadString {
  std::string path;   // "organizations[0].name"
  std::string value;  // the bytes
  std::string owner;  // "Organization \"org_1\"": the top-level object
};

// Appends every string field of `m` (recursively) that is not valid UTF-8.
// protobuf strings must be UTF-8: JSON output would drop the bad bytes and
// binary output would not load again, so convert refuses them.
void FindInvalidUtf8(const Message& m, const std::string& prefix,
                     const std::string& owner, std::vector<BadString>* out) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string name =
        absl::StrCat(prefix, prefix.empty() ? "" : ".", f->name());
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string path =
          f->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& v =
            f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                             : r->GetStringReference(m, f, &scratch);
        if (!internal::IsValidUtf8(v)) out->push_back({path, v, owner});
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const Message& sub = f->is_repeated() ? r->GetRepeatedMessage(m, f, i)
                                              : r->GetMessage(m, f);
        std::string sub_owner = owner;
        if (prefix.empty()) {
          // A top-level object: name it by its id when it has one.
          const FieldDescriptor* id =
              sub.GetDescriptor()->FindFieldByName("id");
          sub_owner = Words(sub.GetDescriptor()->name());
          if (id != nullptr && id->type() == FieldDescriptor::TYPE_STRING &&
              !id->is_repeated()) {
            const std::string v = sub.GetReflection()->GetString(sub, id);
            if (!v.empty() && internal::IsValidUtf8(v)) {
              absl::StrAppend(&sub_owner, " \"", absl::CHexEscape(v), "\"");
            }
          }
        }
        FindInvalidUtf8(sub, path, sub_owner, out);
      }
    }
  }
}

// InvalidArgument naming the first string of `loaded` that is not valid
// UTF-8 (with its line and column in a text-format file), or OK.
absl::Status CheckUtf8(const LoadedState& loaded) {
  std::vector<BadString> bad;
  FindInvalidUtf8(loaded.state, "", "", &bad);
  if (bad.empty()) return absl::OkStatus();
  const BadString& b = bad.front();
  std::string where = loaded.name;
  if (!loaded.text.empty()) {
    std::unique_ptr<TextLocator> locator =
        TextLocator::Create(loaded.text, loaded.state);
    if (locator != nullptr) {
      absl::optional<std::pair<int, int>> at = locator->Locate(b.path);
      if (at.has_value()) {
        absl::StrAppend(&where, ":", at->first, ":", at->second);
      }
    }
  }
  constexpr size_t kMax = 64;
  const absl::string_view shown = absl::string_view(b.value).substr(0, kMax);
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": ", b.path, ": \"", absl::CHexEscape(shown),
      b.value.size() > kMax ? "..." : "", "\" is not valid UTF-8",
      b.owner.empty() ? "" : absl::StrCat(" (in ", b.owner, ")"),
      bad.size() > 1 ? absl::StrCat(", and ", bad.size() - 1,
                                    bad.size() == 2 ? " more string is"
                                                    : " more strings are",
                                    " not")
                     : "",
      "; convert will not rewrite it, fix the file"));
}

int RunConvert(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  const std::string out_path = args.Get("output");
  PolicyFormat to = PolicyFormat::kAuto;
  if (args.Has("to")) {
    absl::StatusOr<PolicyFormat> f = ParsePolicyFormat(args.Get("to"));
    if (!f.ok() || *f == PolicyFormat::kAuto) {
      return UsageError(command, io,
                        absl::StrCat("--to: unknown format \"", args.Get("to"),
                                     "\" (text, json or binary)"));
    }
    to = *f;
  } else if (!out_path.empty()) {
    to = FormatFromPath(out_path);
  }
  if (to == PolicyFormat::kAuto) {
    return UsageError(command, io,
                      "missing --to (or an --output file with a known "
                      "extension)");
  }
  if (to == PolicyFormat::kBinary && out_path.empty() && isatty(io.out_fd)) {
    return UsageError(command, io,
                      "refusing to write binary to a terminal; use --output "
                      "FILE or redirect");
  }

  LoadedState loaded;
  if (state->demo) {
    loaded = LoadDemoState(false);
  } else {
    StateLoadOptions load = state->load;
    load.keep_text = true;  // to locate a bad string
    absl::StatusOr<LoadedState> l = LoadStateFile(state->path, load);
    if (!l.ok()) return InputError(command, io, l.status().message());
    loaded = *std::move(l);
  }
  absl::Status utf8 = CheckUtf8(loaded);
  if (!utf8.ok()) return InputError(command, io, utf8.message());
  absl::StatusOr<std::string> data = SerializePolicySet(loaded.state, to);
  if (!data.ok()) return InputError(command, io, data.status().message());

  if (out_path.empty()) {
    std::fwrite(data->data(), 1, data->size(), io.out);
    return kExitOk;
  }
  FILE* file = std::fopen(out_path.c_str(), "wb");
  if (file == nullptr) {
    return InputError(command, io,
                      absl::StrCat(out_path, ": ", std::strerror(errno)));
  }
  const bool written =
      std::fwrite(data->data(), 1, data->size(), file) == data->size();
  if (std::fclose(file) != 0 || !written) {
    return InputError(
        command, io,
        absl::StrCat(out_path, ": write failed: ", std::strerror(errno)));
  }
  return kExitOk;
}

}  // namespace

const Command& ConvertCommand() {
  static const Command* const command = new Command{
      "convert",
      "arbiter convert (FILE | --demo) --to text|json|binary [--output OUT]",
      "convert a policy file between text format, JSON and binary",
      "Reads a policy state in any format and writes it in another, to\n"
      "standard output or to --output (whose extension gives the format when\n"
      "--to is absent). The state is parsed, not compiled: an invalid policy\n"
      "converts too, but a string that is not valid UTF-8 is refused (exit 2)\n"
      "rather than changed. Text and JSON output is deterministic (comments\n"
      "are not kept); binary is refused on a terminal.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       {"to", 't', FlagSpec::kValue, "FORMAT",
        "output format: text, json or binary"},
       {"output", 'o', FlagSpec::kValue, "FILE",
        "write to FILE instead of standard output"}},
      &RunConvert};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
