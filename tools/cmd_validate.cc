// arbiter validate FILE... | --demo

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "tools/commands.h"
#include "tools/text_locator.h"

namespace arbiter {
namespace cli {
namespace {

std::string Counted(int n, absl::string_view singular,
                    absl::string_view plural) {
  return absl::StrCat(n, " ", n == 1 ? singular : plural);
}

std::string Summary(const v1::PolicySet& s) {
  return absl::StrCat(
      "revision ", s.revision(), ": ",
      Counted(s.organizations_size(), "organization", "organizations"), ", ",
      Counted(s.clouds_size(), "cloud", "clouds"), ", ",
      Counted(s.projects_size(), "project", "projects"), ", ",
      Counted(s.workloads_size(), "workload", "workloads"), ", ",
      Counted(s.principals_size(), "principal", "principals"), ", ",
      Counted(s.groups_size(), "group", "groups"), ", ",
      Counted(s.grants_size(), "grant", "grants"));
}

// Validates one loaded state; prints its problems or its summary. Returns
// kExitOk or kExitDenied.
int ValidateOne(const LoadedState& loaded, const EngineOptions& options,
                bool quiet, const Io& io) {
  std::vector<absl::Status> warnings;
  std::vector<absl::Status> problems =
      Engine::Validate(loaded.state, options, &warnings);
  std::unique_ptr<TextLocator> locator;
  if (!loaded.text.empty() && (!problems.empty() || !warnings.empty())) {
    locator = TextLocator::Create(loaded.text, loaded.state);
  }
  // In file order when the file is text format, like a compiler; problems
  // without a location keep their order, after the others.
  auto print = [&](const std::vector<absl::Status>& statuses,
                   absl::string_view prefix) {
    struct Located {
      std::string message;
      absl::optional<std::pair<int, int>> where;
    };
    std::vector<Located> located;
    for (const absl::Status& problem : statuses) {
      Located l{OneLine(problem.message()), absl::nullopt};
      if (locator != nullptr) {
        const absl::string_view path = MessagePath(l.message);
        if (!path.empty()) l.where = locator->Locate(path);
      }
      located.push_back(std::move(l));
    }
    std::stable_sort(located.begin(), located.end(),
                     [](const Located& a, const Located& b) {
                       if (!b.where.has_value()) return a.where.has_value();
                       return a.where.has_value() && *a.where < *b.where;
                     });
    const std::string pre(prefix);
    for (const Located& l : located) {
      if (l.where.has_value()) {
        std::fprintf(io.out, "%s:%d:%d: %s%s\n", loaded.name.c_str(),
                     l.where->first, l.where->second, pre.c_str(),
                     l.message.c_str());
      } else {
        std::fprintf(io.out, "%s: %s%s\n", loaded.name.c_str(), pre.c_str(),
                     l.message.c_str());
      }
    }
  };
  // Breaches of the grant-time rules (access-model §4.3): the state loads,
  // but an administrator should know (--strict makes them errors).
  print(warnings, "warning: ");
  const std::string warned =
      warnings.empty()
          ? std::string()
          : absl::StrCat(", ", Counted(static_cast<int>(warnings.size()),
                                       "warning", "warnings"));
  if (problems.empty()) {
    if (!quiet || !warnings.empty()) {
      std::fprintf(io.out, "%s: OK (%s)%s\n", loaded.name.c_str(),
                   Summary(loaded.state).c_str(), warned.c_str());
    }
    return kExitOk;
  }
  print(problems, "");
  const size_t n = problems.size();
  std::fprintf(io.out, "%s: invalid, %s%s%s\n", loaded.name.c_str(),
               Counted(static_cast<int>(n), "problem", "problems").c_str(),
               warned.c_str(),
               n >= options.max_errors
                   ? absl::StrCat(" (stopped at the limit; raise it with "
                                  "--max-errors)")
                         .c_str()
                   : "");
  return kExitDenied;
}

int RunValidate(const Command& command, const ParsedArgs& args, const Io& io) {
  std::vector<std::string> paths = args.positional();
  const bool demo = args.Has("demo");
  if (paths.empty() && !demo) {
    return UsageError(command, io, "missing FILE (or --demo)");
  }
  absl::StatusOr<StateArgs> flags = GetStateFlags(args);
  if (!flags.ok()) return UsageError(command, io, flags.status().message());
  StateArgs state = *std::move(flags);
  if (args.Has("max-errors")) {
    size_t max_errors;
    if (!absl::SimpleAtoi(args.Get("max-errors"), &max_errors) ||
        max_errors == 0) {
      return UsageError(command, io,
                        absl::StrCat("--max-errors: expected a positive "
                                     "number, got \"",
                                     args.Get("max-errors"), "\""));
    }
    state.options.max_errors = max_errors;
  }
  const bool quiet = args.Has("quiet");
  if (args.Has("strict")) state.options.strict_grant_rules = true;
  state.load.keep_text = true;

  int worst = kExitOk;
  if (demo) {
    worst = std::max(
        worst, ValidateOne(LoadDemoState(true), state.options, quiet, io));
  }
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> data =
        ReadInputFile(path, state.load.max_bytes);
    if (!data.ok()) {
      // Not readable at all: an input error, not an invalid policy.
      InputError(command, io, data.status().message());
      worst = kExitUsage;
      continue;
    }
    absl::StatusOr<LoadedState> loaded =
        ParseStateData(*std::move(data), path, state.load);
    if (!loaded.ok()) {
      const std::string name = path == "-" ? "<stdin>" : path;
      // The syntax error is the report (file:line:column), but a file that
      // does not parse is unusable input, like every command's: exit 2.
      std::fprintf(io.out, "%s\n%s: invalid, it does not parse\n",
                   OneLine(loaded.status().message()).c_str(), name.c_str());
      worst = kExitUsage;
      continue;
    }
    worst = std::max(worst, ValidateOne(*loaded, state.options, quiet, io));
  }
  return worst;
}

}  // namespace

const Command& ValidateCommand() {
  static const Command* const command = new Command{
      "validate",
      "arbiter validate FILE... [flags]\n"
      "       arbiter validate --demo",
      "load and compile policy files; print every problem",
      "Loads each policy file (text format, JSON or binary protobuf), "
      "compiles\n"
      "it and prints every problem found, one per line: syntax errors as\n"
      "FILE:LINE:COLUMN: message, semantic errors with the field path of the\n"
      "offending object (and its line and column in text-format files).\n"
      "Prints FILE: OK with a summary for each valid file.\n"
      "\n"
      "Exits 0 when every file is valid, 1 when any parses but does not\n"
      "compile, 2 when a file cannot be read or parsed (missing, unreadable,\n"
      "a directory, too large, a syntax error, binary junk).\n"
      "Use '-' to read standard input.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"max-errors", 0, FlagSpec::kValue, "N",
        "report at most N problems per file (default 100)"},
       {"strict", 0, FlagSpec::kBool, "",
        "treat breaches of the grant-time rules (warnings) as errors"},
       {"quiet", 'q', FlagSpec::kBool, "",
        "print nothing for valid files without warnings"}},
      &RunValidate};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
