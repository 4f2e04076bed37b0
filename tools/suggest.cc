#include "tools/suggest.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/optional.h"
#include "arbiter/v1/principal.pb.h"

namespace arbiter {
namespace cli {
namespace {

constexpr size_t kMaxQuery = 256;

// `"value"`, C-escaped and cut to 64 bytes: the value is the user's input.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 64;
  if (value.size() <= kMax)
    return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMax)), "...\"");
}

char Fold(char c, bool fold_case) {
  return fold_case ? absl::ascii_tolower(static_cast<unsigned char>(c)) : c;
}

// "a", "a or b", "a, b or c".
std::string OrList(const std::vector<std::string>& names) {
  if (names.size() <= 1) return absl::StrJoin(names, "");
  return absl::StrCat(absl::StrJoin(names.begin(), names.end() - 1, ", "),
                      " or ", names.back());
}

// "(did you mean x?)", or `otherwise` when there is nothing close.
std::string DidYouMean(absl::string_view query,
                       const std::vector<std::string>& candidates,
                       absl::string_view otherwise = "") {
  const std::vector<std::string> close = ClosestNames(query, candidates);
  if (close.empty()) {
    return otherwise.empty() ? "" : absl::StrCat(" (", otherwise, ")");
  }
  return absl::StrCat(" (did you mean ", OrList(close), "?)");
}

// The organizations a request may mean: those named by `org` (by id or
// name), or every one when `org` is empty or names none.
struct OrgScope {
  absl::flat_hash_set<std::string> ids;  // empty: every organization
  bool Contains(const std::string& org_id) const {
    return ids.empty() || ids.contains(org_id);
  }
};

// The names a resource may be given in the organizations of `scope`: with a
// '/', its cloud[/project[/workload]] paths; otherwise ids and cloud names.
std::vector<std::string> ResourceNames(const v1::PolicySet& state,
                                       const OrgScope& scope, bool paths) {
  std::vector<std::string> out;
  absl::flat_hash_map<std::string, const v1::Cloud*> clouds;
  for (const v1::Cloud& c : state.clouds()) {
    if (!scope.Contains(c.org_id())) continue;
    clouds[c.id()] = &c;
    out.push_back(c.name());
    if (!paths) out.push_back(c.id());
  }
  if (!paths) {
    for (const v1::Organization& o : state.organizations()) {
      if (scope.Contains(o.id())) out.push_back(o.id());
    }
    for (const v1::Image& i : state.images()) {
      if (scope.Contains(i.org_id())) out.push_back(i.id());
    }
    for (const v1::ComputeConfig& c : state.compute_configs()) {
      if (clouds.contains(c.cloud_id())) out.push_back(c.id());
    }
  }
  // Project paths, and each cloud's default project for workloads that name
  // only their cloud.
  absl::flat_hash_map<std::string, std::string> project_paths;
  absl::flat_hash_map<std::string, std::string> default_project;
  for (const v1::Project& p : state.projects()) {
    auto it = clouds.find(p.cloud_id());
    if (it == clouds.end()) continue;
    const std::string path = absl::StrCat(it->second->name(), "/", p.name());
    project_paths[p.id()] = path;
    if (p.is_default()) default_project[p.cloud_id()] = p.id();
    out.push_back(paths ? path : p.id());
  }
  for (const v1::Workload& w : state.workloads()) {
    std::string project = w.project_id();
    if (project.empty()) {
      auto it = default_project.find(w.cloud_id());
      if (it != default_project.end()) project = it->second;
    }
    auto it = project_paths.find(project);
    if (it == project_paths.end()) continue;
    out.push_back(paths ? absl::StrCat(it->second, "/", w.name()) : w.id());
  }
  return out;
}

}  // namespace

size_t EditDistance(absl::string_view a, absl::string_view b, size_t limit,
                    bool fold_case) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  // Three rows of the dynamic program: i - 2, i - 1 and i.
  std::vector<size_t> before(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  size_t prev_min = 0;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t row_min = i;
    const char ai = Fold(a[i - 1], fold_case);
    for (size_t j = 1; j <= m; ++j) {
      const char bj = Fold(b[j - 1], fold_case);
      size_t d = std::min(
          {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ai == bj ? 0 : 1)});
      if (i > 1 && j > 1 && ai == Fold(b[j - 2], fold_case) &&
          Fold(a[i - 2], fold_case) == bj) {
        d = std::min(d, before[j - 2] + 1);
      }
      cur[j] = d;
      row_min = std::min(row_min, d);
    }
    // A swap reaches back two rows, so two rows over the limit end it.
    if (row_min > limit && prev_min > limit) return limit + 1;
    prev_min = row_min;
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], limit + 1);
}

std::vector<std::string> ClosestNames(
    absl::string_view query, const std::vector<std::string>& candidates,
    size_t max) {
  std::vector<std::string> out;
  if (query.empty() || query.size() > kMaxQuery || max == 0) return out;
  const size_t limit = std::max<size_t>(2, query.size() / 4);
  std::vector<std::pair<size_t, absl::string_view>> near;
  for (const std::string& c : candidates) {
    if (c.empty() || c == query) continue;
    const size_t d = EditDistance(query, c, limit, /*fold_case=*/true);
    if (d <= limit) near.emplace_back(d, c);
  }
  if (near.empty()) {
    const std::string q = absl::AsciiStrToLower(query);
    for (const std::string& c : candidates) {
      if (c.empty() || c == query || c.size() > kMaxQuery) continue;
      const std::string lower = absl::AsciiStrToLower(c);
      if ((q.size() >= 3 && absl::StrContains(lower, q)) ||
          (lower.size() >= 3 && absl::StrContains(q, lower))) {
        near.emplace_back(c.size(), c);
      }
    }
  }
  std::sort(near.begin(), near.end());
  for (const auto& [d, name] : near) {
    if (!out.empty() && out.back() == name) continue;
    out.emplace_back(name);
    if (out.size() == max) break;
  }
  return out;
}

bool IsUnresolved(Reason reason) {
  switch (reason) {
    case Reason::kUnknownPrincipal:
    case Reason::kAmbiguousPrincipal:
    case Reason::kUnknownPermission:
    case Reason::kUnknownResource:
    case Reason::kUnknownOrg:
      return true;
    default:
      return false;
  }
}

std::string DescribeUnresolved(const Engine& engine, const v1::PolicySet& state,
                               const AccessRequest& request,
                               const Decision& decision,
                               absl::string_view org_flag) {
  std::vector<std::string> problems;

  // The organization.
  OrgScope scope;
  bool org_known = true;
  if (!request.org.empty()) {
    std::vector<std::string> names;
    for (const v1::Organization& o : state.organizations()) {
      if (o.id() == request.org || o.name() == request.org) {
        scope.ids.insert(o.id());
      }
      names.push_back(o.id());
      names.push_back(o.name());
    }
    if (scope.ids.empty() || decision.reason == Reason::kUnknownOrg) {
      org_known = false;
      problems.push_back(absl::StrCat(
          "unknown organization ", Quote(request.org),
          scope.ids.size() > 1 ? " (several organizations have that name; "
                                 "give its id)"
                               : DidYouMean(request.org, names)));
      scope.ids.clear();
    }
  }

  // The principal: an id, or an email (ASCII case-insensitive).
  const bool by_email = request.principal.find('@') != absl::string_view::npos;
  absl::flat_hash_set<std::string> principal_orgs;  // of the matches
  std::vector<std::string> live_orgs;  // of live matches, for ambiguity
  std::vector<std::string> principal_names;
  for (const v1::Principal& p : state.principals()) {
    if (!scope.Contains(p.org_id())) continue;
    const std::string& name = by_email ? p.email() : p.id();
    principal_names.push_back(name);
    if (by_email ? absl::EqualsIgnoreCase(name, request.principal)
                 : name == request.principal) {
      principal_orgs.insert(p.org_id());
      if (p.state() != v1::PRINCIPAL_STATE_DELETED) {
        live_orgs.push_back(p.org_id());
      }
    }
  }
  if (decision.reason == Reason::kAmbiguousPrincipal) {
    std::vector<std::string> orgs;
    for (const v1::Organization& o : state.organizations()) {
      if (std::find(live_orgs.begin(), live_orgs.end(), o.id()) !=
          live_orgs.end()) {
        orgs.push_back(o.name().empty() ? o.id() : o.name());
      }
    }
    problems.push_back(
        absl::StrCat("principal ", Quote(request.principal),
                     " is the email of principals of several organizations (",
                     absl::StrJoin(orgs, ", "), "); name one with ", org_flag));
  } else if (org_known && (decision.reason == Reason::kUnknownPrincipal ||
                           principal_orgs.empty())) {
    problems.push_back(
        absl::StrCat("unknown principal ", Quote(request.principal),
                     DidYouMean(request.principal, principal_names)));
  }

  // The permission, from the effective profile (custom ones included).
  if (!engine.FindPermission(request.permission).has_value()) {
    std::vector<std::string> names;
    for (const v1::Permission& p : engine.profile().permissions()) {
      names.push_back(p.name());
    }
    problems.push_back(
        absl::StrCat("unknown permission ", Quote(request.permission),
                     DidYouMean(request.permission, names,
                                "'arbiter profile' lists the permissions")));
  }

  // The resource: paths resolve in the request's organization, else the
  // principal's.
  if (org_known) {
    OrgScope path_scope = scope;
    if (path_scope.ids.empty() && principal_orgs.size() == 1) {
      path_scope.ids = principal_orgs;
    } else if (path_scope.ids.empty() && state.organizations_size() == 1) {
      path_scope.ids.insert(state.organizations(0).id());
    }
    const bool by_path = request.resource.find('/') != absl::string_view::npos;
    bool unknown = decision.reason == Reason::kUnknownResource;
    if (!unknown && !request.resource.empty() &&
        (!by_path || path_scope.ids.size() == 1)) {
      const std::string org =
          path_scope.ids.size() == 1 ? *path_scope.ids.begin() : "";
      unknown = !engine.FindResource(request.resource, org).has_value();
    }
    if (unknown) {
      problems.push_back(
          absl::StrCat("unknown resource ", Quote(request.resource),
                       DidYouMean(request.resource,
                                  ResourceNames(state, path_scope, by_path))));
    }
  }

  if (problems.empty()) {
    // Not expected: the decision said the request does not resolve.
    problems.push_back(absl::StrCat("the request does not resolve (",
                                    ReasonName(decision.reason), ")"));
  }
  return absl::StrJoin(problems, "; ");
}

}  // namespace cli
}  // namespace arbiter
