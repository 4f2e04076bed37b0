// arbiter test SUITE... [--demo]

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/test_suite.h"

namespace arbiter {
namespace cli {
namespace {

// Runs one suite file; prints its report. Returns the exit code.
int RunOne(const Command& command, const Io& io, const std::string& path,
           const StateArgs& flags, const std::vector<std::string>& cli_options,
           bool verbose, int* total_passed, int* total_failed) {
  absl::StatusOr<LoadedSuite> suite =
      LoadSuite(path, flags.load.format, flags.load.max_bytes);
  if (!suite.ok()) return InputError(command, io, suite.status().message());
  const std::vector<std::string> problems = CheckSuite(*suite);
  if (!problems.empty()) {
    for (const std::string& p : problems) InputError(command, io, p);
    return kExitUsage;
  }
  const v1::TestSuite& s = suite->suite;
  // A suite that tests nothing must not pass: an empty file, a JSON `{}`,
  // a suite that sets only its state.
  if (s.cases_size() == 0 && s.iam_cases_size() == 0 &&
      s.lookup_resources_size() == 0 && s.lookup_subjects_size() == 0 &&
      s.list_permissions_size() == 0) {
    return InputError(command, io,
                      absl::StrCat(suite->name,
                                   ": no cases and no iam_cases; a suite "
                                   "that tests nothing cannot pass"));
  }

  // The state: --demo on the command line wins, then the suite's.
  StateArgs state;
  state.load.max_bytes = flags.load.max_bytes;
  for (const auto& [key, value] : s.options()) {
    (void)ApplyEngineOption(key, value, &state.options);  // checked above
  }
  // Command-line options come last, so they override the suite's.
  for (const std::string& option : cli_options) {
    (void)ApplyEngineOption(option,
                            &state.options);  // checked by GetStateFlags
  }
  if (flags.demo || s.demo()) {
    state.demo = true;
  } else if (s.has_state()) {
    // Compiled below from the inline state.
  } else if (!s.state_file().empty()) {
    state.path = s.state_file()[0] == '/'
                     ? s.state_file()
                     : absl::StrCat(suite->dir, s.state_file());
  } else {
    return InputError(command, io,
                      absl::StrCat(suite->name,
                                   ": no state (set state_file, state or demo "
                                   "in the suite, or pass --demo)"));
  }

  std::unique_ptr<const Engine> engine;
  if (!state.demo && s.has_state()) {
    absl::StatusOr<std::unique_ptr<const Engine>> e =
        Engine::Create(s.state(), state.options);
    if (!e.ok()) {
      return InputError(
          command, io,
          absl::StrCat(suite->name, ": state: ", e.status().message()));
    }
    engine = *std::move(e);
  } else {
    absl::StatusOr<Compiled> compiled = LoadAndCompile(state);
    if (!compiled.ok()) {
      return InputError(command, io, compiled.status().message());
    }
    engine = std::move(compiled->engine);
  }

  const SuiteReport report = RunSuite(*suite, *engine, verbose);
  std::fputs(report.text.c_str(), io.out);
  const int total = report.passed + report.failed;
  std::fprintf(io.out, "%s: %s, %d passed, %d failed\n", suite->name.c_str(),
               absl::StrCat(total, total == 1 ? " case" : " cases").c_str(),
               report.passed, report.failed);
  *total_passed += report.passed;
  *total_failed += report.failed;
  return report.failed > 0 ? kExitDenied : kExitOk;
}

int RunTest(const Command& command, const ParsedArgs& args, const Io& io) {
  if (args.positional().empty()) {
    return UsageError(command, io, "missing SUITE file");
  }
  absl::StatusOr<StateArgs> flags = GetStateFlags(args);
  if (!flags.ok()) return UsageError(command, io, flags.status().message());
  const bool verbose = args.Has("verbose");
  int worst = kExitOk;
  int passed = 0, failed = 0;
  for (const std::string& path : args.positional()) {
    worst =
        std::max(worst, RunOne(command, io, path, *flags, args.GetAll("option"),
                               verbose, &passed, &failed));
  }
  if (args.positional().size() > 1) {
    std::fprintf(io.out, "total: %d passed, %d failed\n", passed, failed);
  }
  return worst;
}

}  // namespace

const Command& TestCommand() {
  static const Command* const command = new Command{
      "test",
      "arbiter test SUITE... [--demo] [flags]",
      "run test suites of expected decisions (for CI)",
      "Runs each test suite: a state (a policy file, an inline state or the\n"
      "demo) and a list of requests with the decision each must get (effect,\n"
      "and optionally reason and deciding grant), plus optional IAM mapping\n"
      "cases. Suites are text format or JSON (by extension, or --format); see\n"
      "proto/arbiter/v1/test_suite.proto. Prints each failing case with what\n"
      "was expected and what was decided, then a summary per suite.\n"
      "\n"
      "Exits 0 when every case passes, 1 when any fails, 2 when a suite or\n"
      "its state cannot be loaded or is malformed. A suite without cases is\n"
      "malformed.\n",
      {DemoFlag(),
       FormatFlag(),
       MaxBytesFlag(),
       OptionFlag(),
       {"verbose", 'v', FlagSpec::kBool, "", "also list the passing cases"}},
      &RunTest};
  return *command;
}

}  // namespace cli
}  // namespace arbiter
