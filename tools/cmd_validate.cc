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
  std::vector<absl::Status> problems = Engine::Validate(loaded.state, options);
  if (problems.empty()) {
    if (!quiet) {
      std::fprintf(io.out, "%s: OK (%s)\n", loaded.name.c_str(),
                   Summary(loaded.state).c_str());
    }
    return kExitOk;
  }
  std::unique_ptr<TextLocator> locator;
  if (!loaded.text.empty()) {
    locator = TextLocator::Create(loaded.text, loaded.state);
  }
  // In file order when the file is text format, like a compiler; problems
  // without a location keep their order, after the others.
  struct Located {
    std::string message;
    absl::optional<std::pair<int, int>> where;
  };
  std::vector<Located> located;
  for (const absl::Status& problem : problems) {
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
  for (const Located& l : located) {
    if (l.where.has_value()) {
      std::fprintf(io.out, "%s:%d:%d: %s\n", loaded.name.c_str(),
                   l.where->first, l.where->second, l.message.c_str());
    } else {
      std::fprintf(io.out, "%s: %s\n", loaded.name.c_str(), l.message.c_str());
    }
  }
  const size_t n = problems.size();
  std::fprintf(io.out, "%s: invalid, %s%s\n", loaded.name.c_str(),
               Counted(static_cast<int>(n), "problem", "problems").c_str(),
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
      std::fprintf(io.out, "%s\n%s: invalid, it does not parse\n",
                   OneLine(loaded.status().message()).c_str(), name.c_str());
      worst = std::max(worst, static_cast<int>(kExitDenied));
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
      "Exits 0 when every file is valid, 1 when any is invalid, 2 when a file\n"
      "cannot be read at all (missing, unreadable, a directory, too large).\n"
      "Use '-' to read standard input.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"max-errors", 0, FlagSpec::kValue, "N",
        "report at most N problems per file (default 100)"},
       {"quiet", 'q', FlagSpec::kBool, "", "print nothing for valid files"}},
      &RunValidate};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
