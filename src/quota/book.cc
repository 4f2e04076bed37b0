// QuotaBook: compiling a state's quotas and budgets, resolving scopes.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "src/internal/names.h"
#include "src/quota/book_data.h"
#include "src/quota/scope_table.h"

namespace arbiter {
namespace internal {

QuotaReason FindNodeQuotas(const QuotaBookData& book,
                           absl::string_view cloud_id,
                           absl::string_view project_id,
                           absl::string_view creator_id, uint32_t out[4],
                           int* count) {
  *count = 0;
  const auto c = book.cloud_by_id.find(cloud_id);
  if (c == book.cloud_by_id.end()) return QuotaReason::kUnknownCloud;
  const auto p = book.project_by_id.find(project_id);
  if (p == book.project_by_id.end()) return QuotaReason::kUnknownProject;
  const auto u = book.principal_by_id.find(creator_id);
  if (u == book.principal_by_id.end()) return QuotaReason::kUnknownCreator;
  const IdEntry& cloud = c->second;
  const IdEntry& project = p->second;
  if (project.parent != cloud.index) return QuotaReason::kProjectNotInCloud;
  if (u->second.parent != cloud.parent) return QuotaReason::kCreatorNotInOrg;
  int n = 0;
  if (cloud.quota != kNoIndex) out[n++] = cloud.quota;
  if (project.quota != kNoIndex) out[n++] = project.quota;
  if (!book.cloud_user_quota.empty()) {
    auto it = book.cloud_user_quota.find(PairKey(cloud.index, u->second.index));
    if (it != book.cloud_user_quota.end()) out[n++] = it->second;
  }
  if (!book.project_user_quota.empty()) {
    auto it =
        book.project_user_quota.find(PairKey(project.index, u->second.index));
    if (it != book.project_user_quota.end()) out[n++] = it->second;
  }
  *count = n;
  return QuotaReason::kWithinQuota;
}

int FindBudgets(const QuotaBookData& book, uint32_t cloud, uint32_t project,
                uint32_t out[6]) {
  int n = 0;
  auto add = [&](const BudgetSlots& s) {
    for (uint32_t b : s.slot) {
      if (b != kNoIndex) out[n++] = b;
    }
  };
  const CloudInfo& c = book.clouds[cloud];
  add(book.orgs[c.org].budgets);
  add(c.budgets);
  if (project != kNoIndex) add(book.projects[project].budgets);
  return n;
}

namespace {

// Proleptic Gregorian calendar arithmetic on days since 1970-01-01 (H.
// Hinnant's algorithms), so that a period start costs a few divisions and
// no time-zone library call.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t FloorDay(int64_t unix_seconds) {
  int64_t day = unix_seconds / 86400;
  if (unix_seconds % 86400 < 0) --day;  // floor for instants before 1970
  return day;
}

}  // namespace

int64_t PeriodStart(v1::BudgetPeriod period, int64_t unix_seconds) {
  const int64_t day = FloorDay(unix_seconds);
  if (period == v1::BUDGET_PERIOD_DAILY) return day * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  return DaysFromCivil(y, m, 1) * 86400;
}

int64_t NextPeriodStart(v1::BudgetPeriod period, int64_t period_start) {
  if (period == v1::BUDGET_PERIOD_DAILY) return period_start + 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(FloorDay(period_start), &y, &m, &d);
  return m == 12 ? DaysFromCivil(y + 1, 1, 1) * 86400
                 : DaysFromCivil(y, m + 1, 1) * 86400;
}

int64_t ToMicroCredits(double credits) {
  const double micro = std::round(credits * 1e6);
  if (!(micro < 9.2e18)) return std::numeric_limits<int64_t>::max();
  if (!(micro > -9.2e18)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(micro);
}

double FromMicroCredits(int64_t micro) {
  return static_cast<double>(micro) / 1e6;
}

namespace {

// Adds a sibling name; a name two siblings share resolves to kAmbiguous.
template <typename Map>
void AddName(Map& map, uint32_t parent, absl::string_view name,
             uint32_t index) {
  if (name.empty()) return;
  auto [it, inserted] = map.emplace(NameKey(parent, name), index);
  if (!inserted) it->second = kAmbiguous;
}

// Fills the tables of organizations, clouds, projects and principals (the
// maps view their strings, so the vectors must not grow afterwards).
void FillTables(const v1::PolicySet& state, QuotaBookData& b) {
  b.orgs.reserve(state.organizations_size());
  for (const v1::Organization& o : state.organizations()) {
    b.orgs.push_back(OrgInfo{o.id(), o.name(), {}});
  }
  b.clouds.reserve(state.clouds_size());
  for (const v1::Cloud& c : state.clouds()) {
    CloudInfo info;
    info.id = c.id();
    info.name = c.name();
    b.clouds.push_back(std::move(info));
  }
  b.projects.reserve(state.projects_size());
  for (const v1::Project& p : state.projects()) {
    ProjectInfo info;
    info.id = p.id();
    info.name = p.name();
    b.projects.push_back(std::move(info));
  }
  b.principals.reserve(state.principals_size());
  for (const v1::Principal& p : state.principals()) {
    PrincipalInfo info;
    info.id = p.id();
    info.email_lower = absl::AsciiStrToLower(p.email());
    info.state = p.state();
    b.principals.push_back(std::move(info));
  }
}

// Indexes the tables by id (the first of duplicates wins; Engine::Create
// refuses such states) and organizations by name.
void IndexIds(QuotaBookData& b) {
  for (uint32_t i = 0; i < b.orgs.size(); ++i) {
    b.org_by_id.emplace(b.orgs[i].id, i);
    auto [it, inserted] = b.org_by_name.emplace(b.orgs[i].name, i);
    if (!inserted) it->second = kAmbiguous;
  }
  for (uint32_t i = 0; i < b.clouds.size(); ++i)
    b.cloud_by_id.emplace(b.clouds[i].id, IdEntry{i, kNoIndex, kNoIndex});
  for (uint32_t i = 0; i < b.projects.size(); ++i)
    b.project_by_id.emplace(b.projects[i].id, IdEntry{i, kNoIndex, kNoIndex});
  for (uint32_t i = 0; i < b.principals.size(); ++i) {
    b.principal_by_id.emplace(b.principals[i].id,
                              IdEntry{i, kNoIndex, kNoIndex});
  }
}

// Resolves each cloud's, project's and principal's parent, and indexes them
// by name (principals by email) under it.
void ResolveParentsAndNames(const v1::PolicySet& state, QuotaBookData& b) {
  for (int i = 0; i < state.clouds_size(); ++i) {
    auto org = b.org_by_id.find(state.clouds(i).org_id());
    if (org == b.org_by_id.end()) continue;
    b.clouds[i].org = org->second;
    AddName(b.cloud_by_name, org->second, b.clouds[i].name, i);
  }
  for (int i = 0; i < state.projects_size(); ++i) {
    const v1::Project& p = state.projects(i);
    auto cloud = b.cloud_by_id.find(p.cloud_id());
    if (cloud == b.cloud_by_id.end()) continue;
    const uint32_t c = cloud->second.index;
    b.projects[i].cloud = c;
    AddName(b.project_by_name, c, b.projects[i].name, i);
    if (p.is_default() && b.clouds[c].default_project == kNoIndex)
      b.clouds[c].default_project = i;
  }
  for (int i = 0; i < state.principals_size(); ++i) {
    auto org = b.org_by_id.find(state.principals(i).org_id());
    if (org == b.org_by_id.end()) continue;
    PrincipalInfo& p = b.principals[i];
    p.org = org->second;
    if (p.email_lower.empty()) continue;
    auto [it, inserted] =
        b.principal_by_email.emplace(NameKey(p.org, p.email_lower), i);
    // A live principal wins over a deleted one with the same email.
    if (!inserted &&
        b.principals[it->second].state == v1::PRINCIPAL_STATE_DELETED &&
        p.state != v1::PRINCIPAL_STATE_DELETED) {
      it->second = i;
    }
  }
}

// Copies the parents next to the ids.
void CopyParentsToIds(QuotaBookData& b) {
  for (auto& [id, e] : b.cloud_by_id) e.parent = b.clouds[e.index].org;
  for (auto& [id, e] : b.project_by_id) e.parent = b.projects[e.index].cloud;
  for (auto& [id, e] : b.principal_by_id) e.parent = b.principals[e.index].org;
}

// Quota `i` (enforced) compiled: its limits, accelerators sorted by type.
CompiledQuota CompileQuotaLimits(const v1::ResourceQuota& q, uint32_t i) {
  CompiledQuota cq;
  cq.index = i;
  cq.hard = q.hard();
  const v1::QuotaLimits& l = q.limits();
  if (l.has_num_cpus()) cq.cpus = l.num_cpus();
  if (l.has_num_gpus()) cq.gpus = l.num_gpus();
  if (l.has_num_instances()) cq.instances = l.num_instances();
  for (const auto& [type, limit] : l.num_accelerators()) {
    CompiledQuota::Accelerator a;
    a.type = absl::AsciiStrToUpper(type);
    a.key = AcceleratorKey(a.type);
    a.limit = limit;
    cq.accelerators.push_back(std::move(a));
  }
  std::sort(
      cq.accelerators.begin(), cq.accelerators.end(),
      [](const CompiledQuota::Accelerator& x,
         const CompiledQuota::Accelerator& y) { return x.type < y.type; });
  return cq;
}

// Sets cq's shape and indexes the next compiled quota by q's scope.
void IndexQuotaScope(const v1::ResourceQuota& q, CompiledQuota& cq,
                     QuotaBookData& b) {
  const uint32_t cloud = b.cloud_by_id.at(q.cloud_id()).index;
  const uint32_t compiled = b.compiled.size();
  const bool has_project = !q.project_id().empty();
  const bool has_user = !q.user_id().empty();
  const uint32_t project =
      has_project ? b.project_by_id.at(q.project_id()).index : kNoIndex;
  const uint32_t user =
      has_user ? b.principal_by_id.at(q.user_id()).index : kNoIndex;
  if (!has_project && !has_user) {
    cq.shape = kShapeCloud;
    b.clouds[cloud].quota = compiled;
    b.cloud_by_id[q.cloud_id()].quota = compiled;
  } else if (!has_user) {
    cq.shape = kShapeProject;
    b.projects[project].quota = compiled;
    b.project_by_id[q.project_id()].quota = compiled;
  } else if (!has_project) {
    cq.shape = kShapeUser;
    b.cloud_user_quota.emplace(PairKey(cloud, user), compiled);
  } else {
    cq.shape = kShapeProjectUser;
    b.project_user_quota.emplace(PairKey(project, user), compiled);
  }
}

// Compiles the enforced quotas, indexed by scope.
void CompileQuotas(QuotaBookData& b) {
  for (uint32_t i = 0; i < b.quotas.size(); ++i) {
    const v1::ResourceQuota& q = b.quotas[i];
    if (!q.enabled() || q.has_deleted_at()) continue;
    CompiledQuota cq = CompileQuotaLimits(q, i);
    IndexQuotaScope(q, cq, b);
    b.compiled.push_back(std::move(cq));
  }
}

// Budget `i` (enforced) compiled: amount, start and thresholds (ascending;
// 100% when it has none), its scope not yet resolved.
CompiledBudget CompileBudgetAmounts(const v1::Budget& bu, uint32_t i) {
  CompiledBudget cb;
  cb.index = i;
  cb.period = bu.period();
  cb.amount_micro = ToMicroCredits(bu.amount_credits());
  cb.created_seconds = bu.has_created_at()
                           ? bu.created_at().seconds()
                           : std::numeric_limits<int64_t>::min();
  std::vector<double> percents(bu.thresholds_percent().begin(),
                               bu.thresholds_percent().end());
  if (percents.empty()) percents.push_back(100);  // alert when exceeded
  std::sort(percents.begin(), percents.end());
  for (double p : percents) {
    const double micro =
        std::ceil(static_cast<double>(cb.amount_micro) * p / 100.0);
    cb.thresholds.push_back(CompiledThreshold{
        p, micro < 9.2e18 ? static_cast<int64_t>(micro)
                          : std::numeric_limits<int64_t>::max()});
  }
  return cb;
}

// Resolves cb's org, cloud and project from bu's scope and puts the next
// compiled budget in that scope's slot for its period.
void IndexBudgetScope(const v1::Budget& bu, CompiledBudget& cb,
                      QuotaBookData& b) {
  BudgetSlots* slots;
  if (bu.cloud_id().empty()) {
    cb.org = b.org_by_id.at(bu.org_id());
    slots = &b.orgs[cb.org].budgets;
  } else {
    cb.cloud = b.cloud_by_id.at(bu.cloud_id()).index;
    cb.org = b.clouds[cb.cloud].org;
    if (bu.project_id().empty()) {
      slots = &b.clouds[cb.cloud].budgets;
    } else {
      cb.project = b.project_by_id.at(bu.project_id()).index;
      slots = &b.projects[cb.project].budgets;
    }
  }
  slots->slot[cb.period == v1::BUDGET_PERIOD_DAILY ? 0 : 1] =
      b.compiled_budgets.size();
}

// Compiles the enforced budgets, indexed by scope.
void CompileBudgets(QuotaBookData& b) {
  for (uint32_t i = 0; i < b.budgets.size(); ++i) {
    const v1::Budget& bu = b.budgets[i];
    if (!bu.enabled() || bu.has_deleted_at()) continue;
    CompiledBudget cb = CompileBudgetAmounts(bu, i);
    IndexBudgetScope(bu, cb, b);
    b.compiled_budgets.push_back(std::move(cb));
  }
}

}  // namespace

std::unique_ptr<QuotaBookData> BuildBook(const v1::PolicySet& state) {
  static std::atomic<uint64_t> next_uid{1};
  auto book = std::make_unique<QuotaBookData>();
  QuotaBookData& b = *book;
  b.revision = state.revision();
  b.uid = next_uid.fetch_add(1, std::memory_order_relaxed);
  b.quotas.assign(state.quotas().begin(), state.quotas().end());
  b.budgets.assign(state.budgets().begin(), state.budgets().end());
  FillTables(state, b);
  IndexIds(b);
  ResolveParentsAndNames(state, b);
  CopyParentsToIds(b);
  CompileQuotas(b);
  CompileBudgets(b);
  return book;
}

}  // namespace internal

QuotaBook::QuotaBook(std::unique_ptr<const internal::QuotaBookData> data)
    : data_(std::move(data)) {}
QuotaBook::~QuotaBook() = default;

absl::StatusOr<std::unique_ptr<const QuotaBook>> QuotaBook::Create(
    const v1::PolicySet& state) {
  std::vector<absl::Status> problems = ValidateQuotas(state);
  if (!problems.empty()) {
    const absl::Status& first = problems.front();
    if (problems.size() == 1) return first;
    return absl::Status(
        first.code(),
        absl::StrCat(
            first.message(), " (and ", problems.size() - 1,
            problems.size() == 2 ? " more problem)" : " more problems)"));
  }
  return std::unique_ptr<const QuotaBook>(
      new QuotaBook(internal::BuildBook(state)));
}

uint64_t QuotaBook::revision() const { return data_->revision; }
const std::vector<v1::ResourceQuota>& QuotaBook::quotas() const {
  return data_->quotas;
}
const std::vector<v1::Budget>& QuotaBook::budgets() const {
  return data_->budgets;
}
size_t QuotaBook::num_enforced_quotas() const { return data_->compiled.size(); }
size_t QuotaBook::num_enforced_budgets() const {
  return data_->compiled_budgets.size();
}

absl::StatusOr<ScopeIds> QuotaBook::Resolve(absl::string_view cloud,
                                            absl::string_view project,
                                            absl::string_view user,
                                            absl::string_view org) const {
  using internal::kAmbiguous;
  using internal::kNoIndex;
  using internal::NameKey;
  using internal::Quote;
  const internal::QuotaBookData& b = *data_;
  uint32_t org_index = kNoIndex;
  if (!org.empty()) {
    auto it = b.org_by_id.find(org);
    if (it != b.org_by_id.end()) {
      org_index = it->second;
    } else {
      auto byname = b.org_by_name.find(org);
      if (byname == b.org_by_name.end())
        return absl::NotFoundError(
            absl::StrCat("unknown organization ", Quote(org)));
      if (byname->second == kAmbiguous) {
        return absl::InvalidArgumentError(absl::StrCat(
            "organization name ", Quote(org),
            " is ambiguous (several organizations have it); pass its id"));
      }
      org_index = byname->second;
    }
  } else if (b.orgs.size() == 1) {
    org_index = 0;
  }
  if (cloud.empty()) return absl::InvalidArgumentError("missing cloud");
  uint32_t c = kNoIndex;
  if (auto it = b.cloud_by_id.find(cloud); it != b.cloud_by_id.end()) {
    c = it->second.index;
    if (org_index != kNoIndex && b.clouds[c].org != org_index) {
      return absl::NotFoundError(absl::StrCat("unknown cloud ", Quote(cloud),
                                              " in organization ",
                                              Quote(b.orgs[org_index].id)));
    }
  } else if (org_index != kNoIndex) {
    auto byname = b.cloud_by_name.find(NameKey(org_index, cloud));
    if (byname == b.cloud_by_name.end())
      return absl::NotFoundError(absl::StrCat("unknown cloud ", Quote(cloud)));
    if (byname->second == kAmbiguous) {
      return absl::InvalidArgumentError(
          absl::StrCat("cloud name ", Quote(cloud), " is ambiguous"));
    }
    c = byname->second;
  } else {
    // Several organizations and none named: the name must be unique.
    for (uint32_t o = 0; o < b.orgs.size(); ++o) {
      auto byname = b.cloud_by_name.find(NameKey(o, cloud));
      if (byname == b.cloud_by_name.end()) continue;
      if (c != kNoIndex || byname->second == kAmbiguous) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cloud name ", Quote(cloud),
            " is ambiguous: several organizations have a cloud of that name; "
            "pass an organization or a cloud id"));
      }
      c = byname->second;
    }
    if (c == kNoIndex)
      return absl::NotFoundError(absl::StrCat("unknown cloud ", Quote(cloud)));
  }
  const internal::CloudInfo& ci = b.clouds[c];
  if (ci.org == kNoIndex) {
    return absl::FailedPreconditionError(
        absl::StrCat("cloud ", Quote(ci.id), " has no organization"));
  }
  ScopeIds ids;
  ids.org_id = b.orgs[ci.org].id;
  ids.cloud_id = ci.id;
  uint32_t p = kNoIndex;
  if (project.empty()) {
    if (ci.default_project == kNoIndex) {
      return absl::NotFoundError(
          absl::StrCat("cloud ", Quote(ci.id), " has no default project"));
    }
    p = ci.default_project;
  } else if (auto it = b.project_by_id.find(project);
             it != b.project_by_id.end()) {
    p = it->second.index;
    if (b.projects[p].cloud != c) {
      return absl::FailedPreconditionError(absl::StrCat(
          "project ", Quote(project), " is not in cloud ", Quote(ci.id)));
    }
  } else {
    auto byname = b.project_by_name.find(NameKey(c, project));
    if (byname == b.project_by_name.end()) {
      return absl::NotFoundError(absl::StrCat(
          "unknown project ", Quote(project), " in cloud ", Quote(ci.id)));
    }
    if (byname->second == kAmbiguous) {
      return absl::InvalidArgumentError(
          absl::StrCat("project name ", Quote(project), " is ambiguous"));
    }
    p = byname->second;
  }
  ids.project_id = b.projects[p].id;
  if (user.empty()) return ids;
  uint32_t u = kNoIndex;
  if (absl::StrContains(user, '@')) {
    // Emails are compared case-insensitively; ids never contain '@'.
    char buffer[1024];
    if (user.size() > sizeof(buffer)) {
      return absl::NotFoundError(absl::StrCat("unknown user ", Quote(user)));
    }
    for (size_t i = 0; i < user.size(); ++i) {
      buffer[i] = absl::ascii_tolower(static_cast<unsigned char>(user[i]));
    }
    auto it = b.principal_by_email.find(
        NameKey(ci.org, absl::string_view(buffer, user.size())));
    if (it == b.principal_by_email.end()) {
      return absl::NotFoundError(absl::StrCat("unknown user ", Quote(user),
                                              " in organization ",
                                              Quote(b.orgs[ci.org].id)));
    }
    u = it->second;
  } else {
    auto it = b.principal_by_id.find(user);
    if (it == b.principal_by_id.end())
      return absl::NotFoundError(absl::StrCat("unknown user ", Quote(user)));
    u = it->second.index;
    if (b.principals[u].org != ci.org) {
      return absl::FailedPreconditionError(absl::StrCat(
          "user ", Quote(user), " is not a member of organization ",
          Quote(b.orgs[ci.org].id)));
    }
  }
  ids.user_id = b.principals[u].id;
  return ids;
}

std::vector<uint32_t> QuotaBook::ApplicableQuotas(
    absl::string_view cloud_id, absl::string_view project_id,
    absl::string_view creator_id) const {
  uint32_t found[4];
  int n = 0;
  std::vector<uint32_t> out;
  if (internal::FindNodeQuotas(*data_, cloud_id, project_id, creator_id, found,
                               &n) != QuotaReason::kWithinQuota) {
    return out;
  }
  for (int i = 0; i < n; ++i) out.push_back(data_->compiled[found[i]].index);
  return out;
}

std::vector<uint32_t> QuotaBook::ApplicableBudgets(
    absl::string_view cloud_id, absl::string_view project_id) const {
  std::vector<uint32_t> out;
  auto c = data_->cloud_by_id.find(cloud_id);
  if (c == data_->cloud_by_id.end()) return out;
  uint32_t p = internal::kNoIndex;
  if (!project_id.empty()) {
    auto it = data_->project_by_id.find(project_id);
    if (it == data_->project_by_id.end() ||
        it->second.parent != c->second.index) {
      return out;
    }
    p = it->second.index;
  }
  uint32_t found[6];
  const int n = internal::FindBudgets(*data_, c->second.index, p, found);
  for (int i = 0; i < n; ++i)
    out.push_back(data_->compiled_budgets[found[i]].index);
  return out;
}

size_t QuotaBook::MemoryUsage() const {
  const internal::QuotaBookData& b = *data_;
  size_t bytes = sizeof(b);
  for (const auto& q : b.quotas) bytes += q.SpaceUsedLong();
  for (const auto& x : b.budgets) bytes += x.SpaceUsedLong();
  bytes += b.compiled.capacity() * sizeof(internal::CompiledQuota);
  bytes += b.compiled_budgets.capacity() * sizeof(internal::CompiledBudget);
  bytes += b.orgs.capacity() * sizeof(internal::OrgInfo);
  bytes += b.clouds.capacity() * sizeof(internal::CloudInfo);
  bytes += b.projects.capacity() * sizeof(internal::ProjectInfo);
  bytes += b.principals.capacity() * sizeof(internal::PrincipalInfo);
  // Hash maps: about (key + value + control byte) per slot.
  auto map_bytes = [](const auto& m) {
    return m.capacity() * (sizeof(*m.begin()) + 1);
  };
  bytes += map_bytes(b.org_by_id) + map_bytes(b.org_by_name) +
           map_bytes(b.cloud_by_id) + map_bytes(b.cloud_by_name) +
           map_bytes(b.project_by_id) + map_bytes(b.project_by_name) +
           map_bytes(b.principal_by_id) + map_bytes(b.principal_by_email) +
           map_bytes(b.cloud_user_quota) + map_bytes(b.project_user_quota);
  return bytes;
}

}  // namespace arbiter
