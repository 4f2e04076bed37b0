#include "tools/test_suite.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/cli_options.h"
#include "tools/decision_format.h"
#include "tools/names.h"
#include "tools/state_loader.h"

namespace arbiter {
namespace cli {
namespace {

// The case's name; without line numbers (JSON suites) also its path.
std::string CaseLabel(const LoadedSuite& suite, const std::string& name,
                      absl::string_view path) {
  if (name.empty()) return std::string(path);
  if (suite.locator == nullptr) return absl::StrCat(path, ": ", name);
  return name;
}

// The instant a case is judged at: its own `at`, else the suite's, else now.
absl::optional<absl::Time> CaseTime(const v1::TestSuite& suite,
                                    const v1::TestCase& c) {
  const std::string& text = c.at().empty() ? suite.at() : c.at();
  if (text.empty()) return absl::nullopt;
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  return t.ok() ? absl::optional<absl::Time>(*t) : absl::nullopt;
}

std::string Expected(const v1::TestCase& c) {
  std::string out = c.expect() == v1::TestCase::ALLOW ? "ALLOW" : "DENY";
  if (!c.expect_reason().empty()) absl::StrAppend(&out, " ", c.expect_reason());
  if (!c.expect_grant().empty()) {
    absl::StrAppend(&out, " grant=", c.expect_grant());
  }
  return out;
}

}  // namespace

std::string LoadedSuite::Where(absl::string_view path) const {
  if (locator != nullptr) {
    absl::optional<std::pair<int, int>> at = locator->Locate(path);
    if (at.has_value()) return absl::StrCat(name, ":", at->first);
  }
  return name;
}

absl::StatusOr<LoadedSuite> LoadSuite(const std::string& path,
                                      PolicyFormat format, size_t max_bytes) {
  absl::StatusOr<std::string> data = ReadInputFile(path, max_bytes);
  if (!data.ok()) return data.status();
  LoadedSuite loaded;
  loaded.name = path == "-" ? "<stdin>" : path;
  const size_t slash = path.rfind('/');
  if (path != "-" && slash != std::string::npos) {
    loaded.dir = path.substr(0, slash + 1);
  }
  if (format == PolicyFormat::kAuto) {
    format = absl::EndsWithIgnoreCase(path, ".json") ? PolicyFormat::kJson
                                                     : PolicyFormat::kText;
  }
  if (format == PolicyFormat::kBinary) {
    return absl::InvalidArgumentError(
        absl::StrCat(loaded.name, ": test suites are text format or JSON"));
  }
  // Without a byte order mark, so that the locator's columns are right.
  StripUtf8Bom(&*data);
  absl::Status status =
      ParseTextOrJson(*data, format, loaded.name, &loaded.suite);
  if (!status.ok()) return status;
  if (format == PolicyFormat::kText) {
    loaded.locator = TextLocator::Create(*data, loaded.suite);
  }
  return loaded;
}

std::vector<std::string> CheckSuite(const LoadedSuite& loaded) {
  const v1::TestSuite& suite = loaded.suite;
  std::vector<std::string> problems;
  auto problem = [&](absl::string_view path, absl::string_view message) {
    problems.push_back(
        absl::StrCat(loaded.Where(path), ": ", path, ": ", message));
  };
  if (!suite.at().empty() && !ParseRfc3339(suite.at()).ok()) {
    problem("at", ParseRfc3339(suite.at()).status().message());
  }
  EngineOptions ignored;
  for (const auto& [key, value] : suite.options()) {
    absl::Status status = ApplyEngineOption(key, value, &ignored);
    if (!status.ok()) problem("options", status.message());
  }
  for (int i = 0; i < suite.cases_size(); ++i) {
    const v1::TestCase& c = suite.cases(i);
    const std::string path = absl::StrCat("cases[", i, "]");
    if (c.principal().empty()) problem(path, "missing principal");
    if (c.permission().empty()) problem(path, "missing permission");
    if (c.resource().empty()) problem(path, "missing resource");
    if (c.expect() != v1::TestCase::ALLOW && c.expect() != v1::TestCase::DENY) {
      problem(path, "missing expect (ALLOW or DENY)");
    }
    if (!c.channel().empty() && !ParseChannel(c.channel()).ok()) {
      problem(absl::StrCat(path, ".channel"),
              ParseChannel(c.channel()).status().message());
    }
    if (!c.at().empty() && !ParseRfc3339(c.at()).ok()) {
      problem(absl::StrCat(path, ".at"),
              ParseRfc3339(c.at()).status().message());
    }
    if (!c.expect_reason().empty()) {
      Reason reason;
      if (!ParseReason(c.expect_reason(), &reason)) {
        problem(absl::StrCat(path, ".expect_reason"),
                absl::StrCat("unknown reason \"", c.expect_reason(),
                             "\" (e.g. GRANT, NO_PROJECT_GRANT)"));
      } else if (c.expect() != v1::TestCase::EFFECT_UNSPECIFIED &&
                 (EffectOf(reason) == Effect::kAllow) !=
                     (c.expect() == v1::TestCase::ALLOW)) {
        problem(
            absl::StrCat(path, ".expect_reason"),
            absl::StrCat(c.expect_reason(), " never comes with ",
                         c.expect() == v1::TestCase::ALLOW ? "ALLOW" : "DENY"));
      }
    }
  }
  for (int i = 0; i < suite.iam_cases_size(); ++i) {
    const v1::IamTestCase& c = suite.iam_cases(i);
    const std::string path = absl::StrCat("iam_cases[", i, "]");
    if (c.cloud().empty()) problem(path, "missing cloud");
    if (c.workload_type().empty()) {
      problem(path, "missing workload_type (job, service, workspace, cluster)");
    } else if (!ParseWorkloadType(c.workload_type()).ok()) {
      problem(absl::StrCat(path, ".workload_type"),
              ParseWorkloadType(c.workload_type()).status().message());
    }
    IamOutcome outcome;
    if (c.expect_outcome().empty() && c.expect_identity().empty()) {
      problem(path, "missing expect_outcome or expect_identity");
    } else if (!c.expect_outcome().empty() &&
               !ParseIamOutcome(c.expect_outcome(), &outcome)) {
      problem(absl::StrCat(path, ".expect_outcome"),
              absl::StrCat("unknown outcome \"", c.expect_outcome(),
                           "\" (MAPPED, CLOUD_DEFAULT or FAIL)"));
    }
  }
  return problems;
}

SuiteReport RunSuite(const LoadedSuite& loaded, const Engine& engine,
                     bool verbose) {
  const v1::TestSuite& suite = loaded.suite;
  const DecisionFormatter formatter(engine);
  SuiteReport report;
  for (int i = 0; i < suite.cases_size(); ++i) {
    const v1::TestCase& c = suite.cases(i);
    const std::string path = absl::StrCat("cases[", i, "]");
    AccessRequest r;
    r.principal = c.principal();
    r.permission = c.permission();
    r.resource = c.resource();
    r.org = c.org();
    if (!c.channel().empty()) r.context.channel = *ParseChannel(c.channel());
    r.context.now = CaseTime(suite, c);
    const Decision d = engine.Check(r);
    bool ok = d.allowed() == (c.expect() == v1::TestCase::ALLOW);
    if (ok && !c.expect_reason().empty()) {
      ok = ReasonName(d.reason) == c.expect_reason();
    }
    if (ok && !c.expect_grant().empty()) ok = d.grant_id == c.expect_grant();
    const std::string label = CaseLabel(loaded, c.name(), path);
    if (ok) {
      ++report.passed;
      if (verbose) {
        absl::StrAppend(&report.text, "PASS ", loaded.Where(path), ": ", label,
                        "\n");
      }
      continue;
    }
    ++report.failed;
    absl::StrAppend(
        &report.text, "FAIL ", loaded.Where(path), ": ", label, "\n",
        "     request:  ", c.principal(), " ", c.permission(), " ",
        c.resource(), c.org().empty() ? "" : absl::StrCat(" org=", c.org()),
        c.channel().empty() ? "" : absl::StrCat(" channel=", c.channel()),
        r.context.now.has_value()
            ? absl::StrCat(" at=", FormatRfc3339(*r.context.now))
            : "",
        "\n", "     expected: ", Expected(c), "\n",
        "     got:      ", formatter.Text(d), "\n");
  }
  for (int i = 0; i < suite.iam_cases_size(); ++i) {
    const v1::IamTestCase& c = suite.iam_cases(i);
    const std::string path = absl::StrCat("iam_cases[", i, "]");
    WorkloadAttributes w;
    w.cloud = c.cloud();
    w.org = c.org();
    w.type = *ParseWorkloadType(c.workload_type());
    w.project = c.project();
    w.user = c.user();
    w.compute_config = c.compute_config();
    const IamDecision d = engine.ResolveIam(w);
    bool ok = true;
    if (!c.expect_outcome().empty()) {
      ok = IamOutcomeName(d.outcome) == c.expect_outcome();
    }
    if (ok && !c.expect_identity().empty()) {
      ok = d.identity == c.expect_identity();
    }
    const std::string label = CaseLabel(loaded, c.name(), path);
    if (ok) {
      ++report.passed;
      if (verbose) {
        absl::StrAppend(&report.text, "PASS ", loaded.Where(path), ": ", label,
                        "\n");
      }
      continue;
    }
    ++report.failed;
    std::string expected = c.expect_outcome();
    if (!c.expect_identity().empty()) {
      absl::StrAppend(&expected, expected.empty() ? "" : " ",
                      c.expect_identity());
    }
    absl::StrAppend(
        &report.text, "FAIL ", loaded.Where(path), ": ", label, "\n",
        "     workload: ", c.workload_type(), " in cloud ", c.cloud(),
        ", project ", c.project().empty() ? "(default)" : c.project(),
        ", user ", c.user().empty() ? "(none)" : c.user(), "\n",
        "     expected: ", expected, "\n",
        "     got:      ", IamOutcomeName(d.outcome),
        d.identity.empty() ? "" : absl::StrCat(" ", d.identity), " (",
        IamReasonName(d.reason),
        d.rule_index >= 0 ? absl::StrCat(", rule ", d.rule_index) : "",
        ") revision=", d.revision, "\n");
  }
  return report;
}

}  // namespace cli
}  // namespace arbiter
