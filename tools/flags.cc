#include "tools/flags.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace arbiter {
namespace cli {
namespace {

const FlagSpec* FindLong(absl::Span<const FlagSpec> specs,
                         absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindShort(absl::Span<const FlagSpec> specs, char name) {
  for (const FlagSpec& spec : specs) {
    if (spec.short_name != 0 && spec.short_name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

bool ParsedArgs::Has(absl::string_view name) const {
  return std::any_of(flags_.begin(), flags_.end(),
                     [&](const auto& f) { return f.first == name; });
}

std::string ParsedArgs::Get(absl::string_view name,
                            absl::string_view fallback) const {
  for (const auto& f : flags_) {
    if (f.first == name) return f.second;
  }
  return std::string(fallback);
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& f : flags_) {
    if (f.first == name) out.push_back(f.second);
  }
  return out;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     absl::Span<const FlagSpec> specs) {
  ParsedArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string shown;  // the flag as the user wrote it, for messages
    absl::string_view inline_value;
    bool has_inline_value = false;
    if (absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      const size_t eq = body.find('=');
      if (eq != absl::string_view::npos) {
        inline_value = body.substr(eq + 1);
        has_inline_value = true;
        body = body.substr(0, eq);
      }
      shown = absl::StrCat("--", body);
      spec = FindLong(specs, body);
    } else if (arg.size() == 2) {
      shown = arg;
      spec = FindShort(specs, arg[1]);
    } else {
      // -xVALUE is not supported; say so rather than guess.
      shown = arg;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", shown));
    }
    const std::string name = spec->name;
    if (spec->kind == FlagSpec::kBool) {
      if (has_inline_value) {
        return absl::InvalidArgumentError(
            absl::StrCat(shown, " takes no value"));
      }
      if (!parsed.Has(name)) parsed.flags_.emplace_back(name, "true");
      continue;
    }
    std::string value;
    if (has_inline_value) {
      value = std::string(inline_value);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(shown, " needs a value"));
    }
    if (spec->kind == FlagSpec::kValue && parsed.Has(name)) {
      return absl::InvalidArgumentError(absl::StrCat(shown, " given twice"));
    }
    parsed.flags_.emplace_back(name, std::move(value));
  }
  return parsed;
}

std::string FlagsHelp(absl::Span<const FlagSpec> specs) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const FlagSpec& spec : specs) {
    std::string l = spec.short_name != 0
                        ? absl::StrCat("  -", std::string(1, spec.short_name),
                                       ", --", spec.name)
                        : absl::StrCat("      --", spec.name);
    if (spec.kind != FlagSpec::kBool) absl::StrAppend(&l, " ", spec.value_name);
    width = std::max(width, l.size());
    left.push_back(std::move(l));
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StrAppend(&out, left[i], std::string(width + 2 - left[i].size(), ' '),
                    specs[i].help,
                    specs[i].kind == FlagSpec::kRepeated ? " (repeatable)" : "",
                    "\n");
  }
  return out;
}

}  // namespace cli
}  // namespace arbiter
