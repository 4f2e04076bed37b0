// Test suites for `arbiter test`: loading a v1::TestSuite file, checking it
// is well formed, and running its cases against a compiled Engine. The
// format is proto/arbiter/v1/test_suite.proto, written in text format or
// JSON; see docs/cli.md.

#ifndef ARBITER_TOOLS_TEST_SUITE_H_
#define ARBITER_TOOLS_TEST_SUITE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/engine.h"
#include "arbiter/policy_io.h"
#include "arbiter/v1/test_suite.pb.h"
#include "tools/text_locator.h"

namespace arbiter {
namespace cli {

struct LoadedSuite {
  v1::TestSuite suite;
  // The path as given, for messages.
  std::string name;
  // The directory state_file is relative to ("" for the current one).
  std::string dir;
  // Set for text-format suites: case line numbers.
  std::unique_ptr<TextLocator> locator;

  // "name:LINE" for a text-format suite, else "name" (for `path`, e.g.
  // "cases[3]").
  std::string Where(absl::string_view path) const;
};

// Reads and parses a suite; the format comes from `format` or else from the
// extension (.json is JSON, anything else text format).
absl::StatusOr<LoadedSuite> LoadSuite(const std::string& path,
                                      PolicyFormat format, size_t max_bytes);

// Every problem of a suite's cases (missing fields, unknown reason names,
// an expected reason that contradicts the expected effect, bad times...),
// one message each, prefixed with where it is. Empty when well formed.
std::vector<std::string> CheckSuite(const LoadedSuite& suite);

// The result of running one suite.
struct SuiteReport {
  int passed = 0;
  int failed = 0;
  // One block of text per failing case (and per passing one if verbose).
  std::string text;
};

// Runs every case of a well-formed suite (see CheckSuite): the checks, the
// IAM cases, and the lookup cases (lookup_resources, lookup_subjects,
// list_permissions), whose answers must equal the expected sets exactly
// (a failure lists the missing and the unexpected elements).
SuiteReport RunSuite(const LoadedSuite& suite, const Engine& engine,
                     bool verbose);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_TEST_SUITE_H_
