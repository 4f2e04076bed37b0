#include "tools/test_suite.h"

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/lookup.h"
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

// The instant of a lookup case: its own `at`, else the suite's, else now.
absl::optional<absl::Time> LookupTime(const v1::TestSuite& suite,
                                      const std::string& at) {
  const std::string& text = at.empty() ? suite.at() : at;
  if (text.empty()) return absl::nullopt;
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  return t.ok() ? absl::optional<absl::Time>(*t) : absl::nullopt;
}

// `workload`, `project`, `cloud`, `compute-config` (or `compute_config`),
// `image`.
bool ParseLookupKind(absl::string_view text, ResourceKind* kind) {
  if (text == "org") return false;
  if (text == "compute-config") text = "compute_config";
  return ParseResourceKind(text, kind);
}

bool ParsePrincipalFilter(absl::string_view text, PrincipalFilter* filter) {
  if (text.empty() || text == "all") {
    *filter = PrincipalFilter::kAll;
  } else if (text == "users") {
    *filter = PrincipalFilter::kUsers;
  } else if (text == "service-accounts") {
    *filter = PrincipalFilter::kServiceAccounts;
  } else {
    return false;
  }
  return true;
}

// The checks every lookup case shares: channel, at, and an expected set
// without repeats.
void CheckLookupCommon(
    const std::string& path, const std::string& channel, const std::string& at,
    const google::protobuf::RepeatedPtrField<std::string>& expect,
    const std::function<void(absl::string_view, absl::string_view)>& problem) {
  if (!channel.empty() && !ParseChannel(channel).ok()) {
    problem(absl::StrCat(path, ".channel"),
            ParseChannel(channel).status().message());
  }
  if (!at.empty() && !ParseRfc3339(at).ok()) {
    problem(absl::StrCat(path, ".at"), ParseRfc3339(at).status().message());
  }
  absl::flat_hash_set<std::string> seen;
  for (int j = 0; j < expect.size(); ++j) {
    if (expect[j].empty()) {
      problem(absl::StrCat(path, ".expect[", j, "]"), "empty");
    } else if (!seen.insert(expect[j]).second) {
      problem(absl::StrCat(path, ".expect[", j, "]"),
              absl::StrCat("\"", expect[j], "\" is listed twice"));
    }
  }
}

// The outcome of comparing a lookup's answer with the expected set.
struct SetComparison {
  std::vector<std::string> missing;     // expected, not answered
  std::vector<std::string> unexpected;  // answered, not expected
};

// Compares by identity: `expected` and `got` entries are mapped to keys by
// `key_of` (an index of the state; negative for a name the state does not
// have). An expected entry that names nothing is missing, marked
// "(unknown)".
template <typename KeyOf>
SetComparison CompareSets(
    const google::protobuf::RepeatedPtrField<std::string>& expected,
    const std::vector<std::string>& got, KeyOf key_of) {
  SetComparison out;
  absl::flat_hash_set<int64_t> got_keys, expected_keys;
  for (const std::string& g : got) got_keys.insert(key_of(g));
  for (const std::string& e : expected) {
    const int64_t key = key_of(e);
    expected_keys.insert(key);
    if (key < 0) {
      out.missing.push_back(absl::StrCat(e, " (unknown)"));
    } else if (!got_keys.contains(key)) {
      out.missing.push_back(e);
    }
  }
  for (const std::string& g : got) {
    if (!expected_keys.contains(key_of(g))) out.unexpected.push_back(g);
  }
  std::sort(out.missing.begin(), out.missing.end());
  std::sort(out.unexpected.begin(), out.unexpected.end());
  return out;
}

std::string ListText(std::vector<std::string> items) {
  if (items.empty()) return "(none)";
  std::sort(items.begin(), items.end());
  return absl::StrJoin(items, " ");
}

// The report of a lookup case: PASS, or FAIL with what was asked, what was
// expected and got, and the difference.
void ReportLookupCase(
    const LoadedSuite& loaded, const std::string& path, const std::string& name,
    const std::string& request,
    const google::protobuf::RepeatedPtrField<std::string>& expected,
    const absl::StatusOr<std::vector<std::string>>& got,
    const SetComparison& diff, bool verbose, SuiteReport* report) {
  const std::string label = CaseLabel(loaded, name, path);
  const bool ok = got.ok() && diff.missing.empty() && diff.unexpected.empty();
  if (ok) {
    ++report->passed;
    if (verbose) {
      absl::StrAppend(&report->text, "PASS ", loaded.Where(path), ": ", label,
                      "\n");
    }
    return;
  }
  ++report->failed;
  absl::StrAppend(&report->text, "FAIL ", loaded.Where(path), ": ", label, "\n",
                  "     lookup:     ", request, "\n", "     expected:   ",
                  ListText({expected.begin(), expected.end()}), "\n");
  if (!got.ok()) {
    absl::StrAppend(&report->text, "     error:      ", got.status().message(),
                    "\n");
    return;
  }
  absl::StrAppend(&report->text, "     got:        ", ListText(*got), "\n");
  if (!diff.missing.empty()) {
    absl::StrAppend(&report->text,
                    "     missing:    ", absl::StrJoin(diff.missing, " "),
                    "\n");
  }
  if (!diff.unexpected.empty()) {
    absl::StrAppend(&report->text,
                    "     unexpected: ", absl::StrJoin(diff.unexpected, " "),
                    "\n");
  }
}

// " org=O channel=C at=T" for the request line of a report.
std::string ContextText(const std::string& org, const std::string& channel,
                        const absl::optional<absl::Time>& at) {
  std::string out;
  if (!org.empty()) absl::StrAppend(&out, " org=", org);
  if (!channel.empty()) absl::StrAppend(&out, " channel=", channel);
  if (at.has_value()) absl::StrAppend(&out, " at=", FormatRfc3339(*at));
  return out;
}

void RunLookupCases(const LoadedSuite& loaded, const Engine& engine,
                    bool verbose, SuiteReport* report) {
  const v1::TestSuite& suite = loaded.suite;
  const std::unique_ptr<const Lookup> lookup = Lookup::Create(engine);
  // Every page, with a small page size so that suites exercise paging too.
  constexpr uint32_t kPageSize = 100;

  for (int i = 0; i < suite.lookup_resources_size(); ++i) {
    const v1::LookupResourcesTestCase& c = suite.lookup_resources(i);
    const std::string path = absl::StrCat("lookup_resources[", i, "]");
    LookupResourcesRequest r;
    r.principal = c.principal();
    r.permission = c.permission();
    ParseLookupKind(c.kind(), &r.kind);  // checked by CheckSuite
    r.within = c.within();
    r.org = c.org();
    if (!c.channel().empty()) r.context.channel = *ParseChannel(c.channel());
    r.context.now = LookupTime(suite, c.at());
    r.page_size = kPageSize;
    absl::StatusOr<std::vector<std::string>> got = std::vector<std::string>();
    std::string cursor;
    for (;;) {
      r.cursor = cursor;
      absl::StatusOr<ResourcePage> page = lookup->LookupResources(r);
      if (!page.ok()) {
        got = page.status();
        break;
      }
      for (const ResourceMatch& m : page->resources) {
        got->push_back(std::string(m.id));
      }
      if (page->complete) break;
      cursor = page->next_cursor;
    }
    SetComparison diff;
    if (got.ok()) {
      diff = CompareSets(c.expect(), *got, [&](const std::string& name) {
        absl::optional<ResourceRef> ref = engine.FindResource(name, c.org());
        return ref.has_value() ? int64_t{ref->index()} : int64_t{-1};
      });
    }
    const std::string request = absl::StrCat(
        "what-can ", c.principal(), " ", c.permission(), " ", c.kind(),
        c.within().empty() ? "" : absl::StrCat(" within=", c.within()),
        ContextText(c.org(), c.channel(), r.context.now));
    ReportLookupCase(loaded, path, c.name(), request, c.expect(), got, diff,
                     verbose, report);
  }

  for (int i = 0; i < suite.lookup_subjects_size(); ++i) {
    const v1::LookupSubjectsTestCase& c = suite.lookup_subjects(i);
    const std::string path = absl::StrCat("lookup_subjects[", i, "]");
    LookupSubjectsRequest r;
    r.permission = c.permission();
    r.resource = c.resource();
    r.org = c.org();
    ParsePrincipalFilter(c.principals(), &r.principals);  // checked
    if (!c.channel().empty()) r.context.channel = *ParseChannel(c.channel());
    r.context.now = LookupTime(suite, c.at());
    r.page_size = kPageSize;
    absl::StatusOr<std::vector<std::string>> got = std::vector<std::string>();
    std::string cursor;
    for (;;) {
      r.cursor = cursor;
      absl::StatusOr<SubjectPage> page = lookup->LookupSubjects(r);
      if (!page.ok()) {
        got = page.status();
        break;
      }
      for (const SubjectMatch& m : page->subjects) {
        got->push_back(std::string(m.id));
      }
      if (page->complete) break;
      cursor = page->next_cursor;
    }
    SetComparison diff;
    if (got.ok()) {
      diff = CompareSets(c.expect(), *got, [&](const std::string& name) {
        absl::optional<PrincipalRef> ref = engine.FindPrincipal(name, c.org());
        return ref.has_value() ? int64_t{ref->index()} : int64_t{-1};
      });
    }
    const std::string request = absl::StrCat(
        "who-can ", c.permission(), " ", c.resource(),
        c.principals().empty() ? ""
                               : absl::StrCat(" principals=", c.principals()),
        ContextText(c.org(), c.channel(), r.context.now));
    ReportLookupCase(loaded, path, c.name(), request, c.expect(), got, diff,
                     verbose, report);
  }

  for (int i = 0; i < suite.list_permissions_size(); ++i) {
    const v1::ListPermissionsTestCase& c = suite.list_permissions(i);
    const std::string path = absl::StrCat("list_permissions[", i, "]");
    RequestContext context;
    if (!c.channel().empty()) context.channel = *ParseChannel(c.channel());
    context.now = LookupTime(suite, c.at());
    absl::StatusOr<PermissionSet> set =
        lookup->ListPermissions(c.principal(), c.resource(), c.org(), context);
    absl::StatusOr<std::vector<std::string>> got = std::vector<std::string>();
    if (set.ok()) {
      for (absl::string_view name : set->Names()) {
        got->push_back(std::string(name));
      }
    } else {
      got = set.status();
    }
    SetComparison diff;
    if (got.ok()) {
      // By name; an unknown name is missing.
      absl::flat_hash_set<std::string> names(got->begin(), got->end());
      for (const std::string& e : c.expect()) names.insert(e);
      std::vector<std::string> all(names.begin(), names.end());
      std::sort(all.begin(), all.end());
      diff = CompareSets(c.expect(), *got, [&](const std::string& name) {
        if (!engine.FindPermission(name).has_value()) return int64_t{-1};
        return static_cast<int64_t>(
            std::lower_bound(all.begin(), all.end(), name) - all.begin());
      });
    }
    const std::string request =
        absl::StrCat("permissions ", c.principal(), " on ", c.resource(),
                     ContextText(c.org(), c.channel(), context.now));
    ReportLookupCase(loaded, path, c.name(), request, c.expect(), got, diff,
                     verbose, report);
  }
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
  for (int i = 0; i < suite.lookup_resources_size(); ++i) {
    const v1::LookupResourcesTestCase& c = suite.lookup_resources(i);
    const std::string path = absl::StrCat("lookup_resources[", i, "]");
    if (c.principal().empty()) problem(path, "missing principal");
    if (c.permission().empty()) problem(path, "missing permission");
    ResourceKind kind;
    if (c.kind().empty()) {
      problem(path,
              "missing kind (workload, project, cloud, compute-config, "
              "image)");
    } else if (!ParseLookupKind(c.kind(), &kind)) {
      problem(absl::StrCat(path, ".kind"),
              absl::StrCat("unknown kind \"", c.kind(),
                           "\" (workload, project, cloud, compute-config, "
                           "image)"));
    }
    CheckLookupCommon(path, c.channel(), c.at(), c.expect(), problem);
  }
  for (int i = 0; i < suite.lookup_subjects_size(); ++i) {
    const v1::LookupSubjectsTestCase& c = suite.lookup_subjects(i);
    const std::string path = absl::StrCat("lookup_subjects[", i, "]");
    if (c.permission().empty()) problem(path, "missing permission");
    if (c.resource().empty()) problem(path, "missing resource");
    PrincipalFilter filter;
    if (!ParsePrincipalFilter(c.principals(), &filter)) {
      problem(absl::StrCat(path, ".principals"),
              absl::StrCat("unknown value \"", c.principals(),
                           "\" (users, service-accounts or all)"));
    }
    CheckLookupCommon(path, c.channel(), c.at(), c.expect(), problem);
  }
  for (int i = 0; i < suite.list_permissions_size(); ++i) {
    const v1::ListPermissionsTestCase& c = suite.list_permissions(i);
    const std::string path = absl::StrCat("list_permissions[", i, "]");
    if (c.principal().empty()) problem(path, "missing principal");
    if (c.resource().empty()) problem(path, "missing resource");
    CheckLookupCommon(path, c.channel(), c.at(), c.expect(), problem);
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
  if (suite.lookup_resources_size() + suite.lookup_subjects_size() +
          suite.list_permissions_size() >
      0) {
    RunLookupCases(loaded, engine, verbose, &report);
  }
  return report;
}

}  // namespace cli
}  // namespace arbiter
