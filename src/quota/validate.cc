// Validation of quotas and budgets (access-model §7.1, §7.2, §8.1, and the
// §4.3 rows "a second quota for the same (cloud, project, user)" and "a
// second daily (or monthly) budget for the same (cloud, project)").
//
// One checker serves two callers: ValidateQuotas walks a whole state (every
// problem, up to a limit), ValidateQuotaChange / ValidateBudgetChange check
// one candidate object of a mutation against the rest of the state (the
// first problem). The codes tell the admin layer which refusal to give (see
// arbiter/quota.h).

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "arbiter/quota.h"
#include "src/internal/names.h"
#include "src/quota/book_data.h"

namespace arbiter {
namespace internal {
namespace {

constexpr size_t kMaxIdLength = 256;     // EngineOptions::max_id_length
constexpr size_t kMaxNameLength = 1024;  // EngineOptions::max_name_length
// google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// Budget amounts are kept in micro-credits in an int64.
constexpr double kMaxBudgetCredits = 1e12;
constexpr double kMaxThresholdPercent = 1000;
constexpr int kMaxThresholds = 32;
constexpr int kMaxRecipients = 100;

// Where every id and the objects that quotas and budgets reference live.
struct StateIndex {
  explicit StateIndex(const v1::PolicySet& s) {
    for (int i = 0; i < s.organizations_size(); ++i)
      orgs.emplace(s.organizations(i).id(), i);
    for (int i = 0; i < s.clouds_size(); ++i)
      clouds.emplace(s.clouds(i).id(), i);
    for (int i = 0; i < s.projects_size(); ++i)
      projects.emplace(s.projects(i).id(), i);
    for (int i = 0; i < s.principals_size(); ++i)
      principals.emplace(s.principals(i).id(), i);
    size_t total = s.organizations_size() + s.clouds_size() +
                   s.projects_size() + s.workloads_size() +
                   s.compute_configs_size() + s.images_size() +
                   s.principals_size() + s.groups_size() + s.grants_size();
    other_ids.reserve(total);
    auto add = [&](const char* list, int i, absl::string_view id) {
      if (!id.empty()) other_ids.emplace(id, Owner{list, i});
    };
    for (int i = 0; i < s.organizations_size(); ++i)
      add("organizations", i, s.organizations(i).id());
    for (int i = 0; i < s.clouds_size(); ++i)
      add("clouds", i, s.clouds(i).id());
    for (int i = 0; i < s.projects_size(); ++i)
      add("projects", i, s.projects(i).id());
    for (int i = 0; i < s.workloads_size(); ++i)
      add("workloads", i, s.workloads(i).id());
    for (int i = 0; i < s.compute_configs_size(); ++i)
      add("compute_configs", i, s.compute_configs(i).id());
    for (int i = 0; i < s.images_size(); ++i)
      add("images", i, s.images(i).id());
    for (int i = 0; i < s.principals_size(); ++i)
      add("principals", i, s.principals(i).id());
    for (int i = 0; i < s.groups_size(); ++i)
      add("groups", i, s.groups(i).id());
    for (int i = 0; i < s.grants_size(); ++i)
      add("grants", i, s.grants(i).id());
  }

  // Where an id of another kind lives ("clouds", 3).
  struct Owner {
    const char* list;
    int index;
    std::string Path() const { return absl::StrCat(list, "[", index, "]"); }
  };

  absl::flat_hash_map<absl::string_view, int> orgs, clouds, projects,
      principals;
  // Ids of every object but quotas and budgets.
  absl::flat_hash_map<absl::string_view, Owner> other_ids;
};

// Collects problems, up to a limit.
class Problems {
 public:
  explicit Problems(size_t max) : max_(max == 0 ? 1 : max) {}
  void Add(absl::StatusCode code, absl::string_view path,
           absl::string_view message) {
    ++count_;
    if (list_.size() < max_) {
      list_.emplace_back(code, absl::StrCat(path, ": ", message));
    }
  }
  bool full() const { return list_.size() >= max_; }
  size_t count() const { return count_; }
  std::vector<absl::Status>& list() { return list_; }

 private:
  size_t max_;
  size_t count_ = 0;
  std::vector<absl::Status> list_;
};

std::string Path(const char* list, int index, absl::string_view field) {
  return field.empty() ? absl::StrCat(list, "[", index, "]")
                       : absl::StrCat(list, "[", index, "].", field);
}

bool Deleted(const v1::ResourceQuota& q) { return q.has_deleted_at(); }
bool Deleted(const v1::Budget& b) { return b.has_deleted_at(); }

void CheckTimestamp(const google::protobuf::Timestamp& t,
                    const std::string& path, Problems& out) {
  if (t.seconds() < kMinTimestampSeconds ||
      t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
      t.nanos() > 999999999) {
    out.Add(
        absl::StatusCode::kInvalidArgument, path,
        absl::StrCat("timestamp out of range (seconds ", t.seconds(),
                     ", nanos ", t.nanos(), "; 0001-01-01 to 9999-12-31 UTC)"));
  }
}

// The syntax of an id, a name and the timestamps, shared by both kinds.
template <typename T>
void CheckCommon(const char* list, int i, const T& o, Problems& out) {
  std::string problem = CheckId(o.id(), kMaxIdLength);
  if (!problem.empty()) {
    out.Add(absl::StatusCode::kInvalidArgument, Path(list, i, "id"), problem);
  }
  if (!o.name().empty()) {
    problem = CheckName(o.name(), kMaxNameLength);
    if (!problem.empty()) {
      out.Add(absl::StatusCode::kInvalidArgument, Path(list, i, "name"),
              problem);
    }
  }
  if (!o.creator_id().empty()) {
    problem = CheckId(o.creator_id(), kMaxIdLength);
    if (!problem.empty()) {
      out.Add(absl::StatusCode::kInvalidArgument, Path(list, i, "creator_id"),
              problem);
    }
  }
  if (o.has_created_at())
    CheckTimestamp(o.created_at(), Path(list, i, "created_at"), out);
  if (o.has_deleted_at())
    CheckTimestamp(o.deleted_at(), Path(list, i, "deleted_at"), out);
}

void CheckLimit(const std::string& path, int64_t value, Problems& out) {
  if (value < 0) {
    out.Add(absl::StatusCode::kInvalidArgument, path,
            absl::StrCat("negative limit ", value,
                         " (0 means none may be used; unset means unlimited)"));
  }
}

// The fields and references of one live quota.
void CheckQuotaFields(const v1::PolicySet& s, const StateIndex& ix, int i,
                      const v1::ResourceQuota& q, Problems& out) {
  if (q.cloud_id().empty()) {
    out.Add(absl::StatusCode::kInvalidArgument, Path("quotas", i, "cloud_id"),
            "missing cloud_id (a quota needs a cloud)");
  }
  const v1::Cloud* cloud = nullptr;
  if (!q.cloud_id().empty()) {
    auto it = ix.clouds.find(q.cloud_id());
    if (it == ix.clouds.end()) {
      out.Add(absl::StatusCode::kNotFound, Path("quotas", i, "cloud_id"),
              absl::StrCat("unknown cloud ", Quote(q.cloud_id())));
    } else {
      cloud = &s.clouds(it->second);
    }
  }
  if (!q.project_id().empty()) {
    auto it = ix.projects.find(q.project_id());
    if (it == ix.projects.end()) {
      out.Add(absl::StatusCode::kNotFound, Path("quotas", i, "project_id"),
              absl::StrCat("unknown project ", Quote(q.project_id())));
    } else if (cloud != nullptr &&
               s.projects(it->second).cloud_id() != cloud->id()) {
      out.Add(
          absl::StatusCode::kFailedPrecondition,
          Path("quotas", i, "project_id"),
          absl::StrCat("project ", Quote(q.project_id()), " belongs to cloud ",
                       Quote(s.projects(it->second).cloud_id()), ", not ",
                       Quote(cloud->id())));
    }
  }
  if (!q.user_id().empty()) {
    auto it = ix.principals.find(q.user_id());
    if (it == ix.principals.end()) {
      out.Add(absl::StatusCode::kNotFound, Path("quotas", i, "user_id"),
              absl::StrCat("unknown user ", Quote(q.user_id())));
    } else if (cloud != nullptr &&
               s.principals(it->second).org_id() != cloud->org_id()) {
      out.Add(
          absl::StatusCode::kFailedPrecondition, Path("quotas", i, "user_id"),
          absl::StrCat("user ", Quote(q.user_id()), " belongs to organization ",
                       Quote(s.principals(it->second).org_id()),
                       ", not to the cloud's organization ",
                       Quote(cloud->org_id())));
    }
  }
  const v1::QuotaLimits& l = q.limits();
  if (l.has_num_cpus())
    CheckLimit(Path("quotas", i, "limits.num_cpus"), l.num_cpus(), out);
  if (l.has_num_instances()) {
    CheckLimit(Path("quotas", i, "limits.num_instances"), l.num_instances(),
               out);
  }
  if (l.has_num_gpus())
    CheckLimit(Path("quotas", i, "limits.num_gpus"), l.num_gpus(), out);
  absl::flat_hash_map<std::string, std::string> canonical;
  for (const auto& [type, limit] : l.num_accelerators()) {
    const std::string path = absl::StrCat(
        "quotas[", i, "].limits.num_accelerators[", Quote(type), "]");
    if (!IsValidAcceleratorType(type)) {
      out.Add(absl::StatusCode::kInvalidArgument, path,
              absl::StrCat("invalid accelerator type ", Quote(type),
                           " (1 to 64 of A-Z a-z 0-9 . _ -, starting with a "
                           "letter or digit)"));
      continue;
    }
    CheckLimit(path, limit, out);
    auto [it, inserted] =
        canonical.emplace(CanonicalAcceleratorType(type), type);
    if (!inserted) {
      // Map order is unspecified: name the pair in a stable order.
      const std::string& a = std::min(it->second, type);
      const std::string& b = std::max(it->second, type);
      out.Add(absl::StatusCode::kInvalidArgument,
              absl::StrCat("quotas[", i, "].limits.num_accelerators[", Quote(b),
                           "]"),
              absl::StrCat("accelerator type ", Quote(b), " is ", Quote(a),
                           " (types are compared case-insensitively)"));
    }
  }
}

bool IsValidRecipient(absl::string_view r) {
  if (r.empty() || r.size() > kMaxNameLength) return false;
  for (char c : r) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// The fields and references of one live budget.
void CheckBudgetFields(const v1::PolicySet& s, const StateIndex& ix, int i,
                       const v1::Budget& b, Problems& out) {
  const v1::Cloud* cloud = nullptr;
  if (b.cloud_id().empty()) {
    if (!b.project_id().empty()) {
      out.Add(absl::StatusCode::kInvalidArgument,
              Path("budgets", i, "cloud_id"),
              "missing cloud_id: a project budget needs the project's cloud "
              "(access-model \xC2\xA7"
              "8.1)");
    }
    if (b.org_id().empty()) {
      out.Add(absl::StatusCode::kInvalidArgument, Path("budgets", i, "org_id"),
              "missing org_id (an organization-wide budget needs its "
              "organization)");
    } else if (!ix.orgs.contains(b.org_id())) {
      out.Add(absl::StatusCode::kNotFound, Path("budgets", i, "org_id"),
              absl::StrCat("unknown organization ", Quote(b.org_id())));
    }
  } else {
    auto it = ix.clouds.find(b.cloud_id());
    if (it == ix.clouds.end()) {
      out.Add(absl::StatusCode::kNotFound, Path("budgets", i, "cloud_id"),
              absl::StrCat("unknown cloud ", Quote(b.cloud_id())));
    } else {
      cloud = &s.clouds(it->second);
      if (!b.org_id().empty() && b.org_id() != cloud->org_id()) {
        out.Add(
            absl::StatusCode::kFailedPrecondition, Path("budgets", i, "org_id"),
            absl::StrCat("cloud ", Quote(b.cloud_id()),
                         " belongs to organization ", Quote(cloud->org_id()),
                         ", not ", Quote(b.org_id())));
      }
    }
    if (!b.project_id().empty()) {
      auto pit = ix.projects.find(b.project_id());
      if (pit == ix.projects.end()) {
        out.Add(absl::StatusCode::kNotFound, Path("budgets", i, "project_id"),
                absl::StrCat("unknown project ", Quote(b.project_id())));
      } else if (cloud != nullptr &&
                 s.projects(pit->second).cloud_id() != cloud->id()) {
        out.Add(absl::StatusCode::kFailedPrecondition,
                Path("budgets", i, "project_id"),
                absl::StrCat("project ", Quote(b.project_id()),
                             " belongs to cloud ",
                             Quote(s.projects(pit->second).cloud_id()),
                             ", not ", Quote(cloud->id())));
      }
    }
  }
  if (b.period() != v1::BUDGET_PERIOD_DAILY &&
      b.period() != v1::BUDGET_PERIOD_MONTHLY) {
    out.Add(absl::StatusCode::kInvalidArgument, Path("budgets", i, "period"),
            absl::StrCat("period must be BUDGET_PERIOD_DAILY or "
                         "BUDGET_PERIOD_MONTHLY (got ",
                         static_cast<int>(b.period()), ")"));
  }
  const double amount = b.amount_credits();
  if (!std::isfinite(amount) || amount <= 0 || amount > kMaxBudgetCredits) {
    out.Add(absl::StatusCode::kInvalidArgument,
            Path("budgets", i, "amount_credits"),
            absl::StrCat("amount must be more than 0 and at most 1e12 credits "
                         "(got ",
                         amount, ")"));
  }
  if (b.thresholds_percent_size() > kMaxThresholds) {
    out.Add(absl::StatusCode::kInvalidArgument,
            Path("budgets", i, "thresholds_percent"),
            absl::StrCat(b.thresholds_percent_size(),
                         " thresholds exceed the limit of ", kMaxThresholds));
  }
  for (int t = 0; t < b.thresholds_percent_size(); ++t) {
    const double p = b.thresholds_percent(t);
    const std::string path =
        absl::StrCat("budgets[", i, "].thresholds_percent[", t, "]");
    if (!std::isfinite(p) || p <= 0 || p > kMaxThresholdPercent) {
      out.Add(absl::StatusCode::kInvalidArgument, path,
              absl::StrCat("threshold must be more than 0 and at most 1000 "
                           "percent (got ",
                           p, ")"));
      continue;
    }
    for (int u = 0; u < t; ++u) {
      if (b.thresholds_percent(u) == p) {
        out.Add(
            absl::StatusCode::kInvalidArgument, path,
            absl::StrCat("threshold ", p, "% given twice (also [", u, "])"));
        break;
      }
    }
  }
  if (b.recipients_size() > kMaxRecipients) {
    out.Add(absl::StatusCode::kInvalidArgument,
            Path("budgets", i, "recipients"),
            absl::StrCat(b.recipients_size(),
                         " recipients exceed the limit of ", kMaxRecipients));
  }
  for (int r = 0; r < b.recipients_size(); ++r) {
    if (!IsValidRecipient(b.recipients(r))) {
      out.Add(absl::StatusCode::kInvalidArgument,
              absl::StrCat("budgets[", i, "].recipients[", r, "]"),
              absl::StrCat("invalid recipient ", Quote(b.recipients(r)),
                           " (1 to 1024 printable ASCII characters, no "
                           "spaces)"));
    }
  }
}

// The organization a live budget's scope belongs to ("" if unresolved).
absl::string_view BudgetOrg(const v1::PolicySet& s, const StateIndex& ix,
                            const v1::Budget& b) {
  if (b.cloud_id().empty()) return b.org_id();
  auto it = ix.clouds.find(b.cloud_id());
  return it == ix.clouds.end()
             ? absl::string_view()
             : absl::string_view(s.clouds(it->second).org_id());
}

std::string QuotaScope(const v1::ResourceQuota& q) {
  return absl::StrCat("(cloud ", Quote(q.cloud_id()), ", project ",
                      q.project_id().empty() ? "ALL" : Quote(q.project_id()),
                      ", user ",
                      q.user_id().empty() ? "ALL" : Quote(q.user_id()), ")");
}

absl::string_view PeriodName(v1::BudgetPeriod p) {
  return p == v1::BUDGET_PERIOD_DAILY ? "daily" : "monthly";
}

std::string BudgetScope(const v1::Budget& b) {
  if (b.cloud_id().empty())
    return absl::StrCat("organization ", Quote(b.org_id()));
  return absl::StrCat("(cloud ", Quote(b.cloud_id()), ", project ",
                      b.project_id().empty() ? "ALL" : Quote(b.project_id()),
                      ")");
}

bool SameQuotaScope(const v1::ResourceQuota& a, const v1::ResourceQuota& b) {
  return a.cloud_id() == b.cloud_id() && a.project_id() == b.project_id() &&
         a.user_id() == b.user_id();
}

// The owner of `id` among the quotas and budgets other than (list, skip),
// and the other objects; empty if none.
std::string IdOwner(const v1::PolicySet& s, const StateIndex& ix,
                    absl::string_view id, const char* list, int skip) {
  for (int j = 0; j < s.quotas_size(); ++j) {
    if (s.quotas(j).id() == id &&
        !(absl::string_view(list) == "quotas" && j == skip))
      return absl::StrCat("quotas[", j, "]");
  }
  for (int j = 0; j < s.budgets_size(); ++j) {
    if (s.budgets(j).id() == id &&
        !(absl::string_view(list) == "budgets" && j == skip))
      return absl::StrCat("budgets[", j, "]");
  }
  auto it = ix.other_ids.find(id);
  return it == ix.other_ids.end() ? "" : it->second.Path();
}

}  // namespace

bool IsValidAcceleratorType(absl::string_view name) {
  if (name.empty() || name.size() > kMaxAcceleratorTypeLength) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool CanonicalizeAcceleratorType(absl::string_view name, char* buffer,
                                 absl::string_view* out) {
  if (name.size() > kMaxAcceleratorTypeLength) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    buffer[i] = absl::ascii_toupper(static_cast<unsigned char>(name[i]));
  }
  *out = absl::string_view(buffer, name.size());
  return true;
}

}  // namespace internal

std::string CanonicalAcceleratorType(absl::string_view name) {
  return absl::AsciiStrToUpper(name);
}

std::vector<absl::Status> ValidateQuotas(const v1::PolicySet& state,
                                         size_t max_errors) {
  using internal::Path;
  using internal::Quote;
  internal::Problems out(max_errors);
  internal::StateIndex ix(state);

  // Ids: well-formed (CheckCommon) and unique across quotas, budgets and
  // every other object of the state.
  absl::flat_hash_map<absl::string_view, internal::StateIndex::Owner> seen;
  auto check_id = [&](const char* list, int i, absl::string_view id) {
    if (id.empty()) return;
    auto other = ix.other_ids.find(id);
    if (other != ix.other_ids.end()) {
      out.Add(absl::StatusCode::kAlreadyExists, Path(list, i, "id"),
              absl::StrCat("duplicate id ", Quote(id), " (also ",
                           other->second.Path(), ")"));
      return;
    }
    auto [it, inserted] =
        seen.emplace(id, internal::StateIndex::Owner{list, i});
    if (!inserted) {
      out.Add(absl::StatusCode::kAlreadyExists, Path(list, i, "id"),
              absl::StrCat("duplicate id ", Quote(id), " (also ",
                           it->second.Path(), ")"));
    }
  };

  // One live quota per (cloud, project|ALL, user|ALL) [D:QUOTA, I for ALL].
  absl::flat_hash_map<
      std::tuple<absl::string_view, absl::string_view, absl::string_view>, int>
      quota_scopes;
  for (int i = 0; i < state.quotas_size() && !out.full(); ++i) {
    const v1::ResourceQuota& q = state.quotas(i);
    internal::CheckCommon("quotas", i, q, out);
    check_id("quotas", i, q.id());
    if (internal::Deleted(q)) continue;
    internal::CheckQuotaFields(state, ix, i, q, out);
    if (q.cloud_id().empty()) continue;
    auto [it, inserted] =
        quota_scopes.emplace(std::make_tuple(absl::string_view(q.cloud_id()),
                                             absl::string_view(q.project_id()),
                                             absl::string_view(q.user_id())),
                             i);
    if (!inserted) {
      out.Add(absl::StatusCode::kAlreadyExists, Path("quotas", i, ""),
              absl::StrCat("a quota for ", internal::QuotaScope(q),
                           " already exists: quotas[", it->second, "] (",
                           Quote(state.quotas(it->second).id()),
                           "); one quota per (cloud, project, user)"));
    }
  }
  // One live daily and one live monthly budget per (cloud, project), and per
  // organization for organization-wide budgets [D:BUDGET].
  absl::flat_hash_map<std::string, int> budget_scopes;
  for (int i = 0; i < state.budgets_size() && !out.full(); ++i) {
    const v1::Budget& b = state.budgets(i);
    internal::CheckCommon("budgets", i, b, out);
    check_id("budgets", i, b.id());
    if (internal::Deleted(b)) continue;
    internal::CheckBudgetFields(state, ix, i, b, out);
    const absl::string_view org = internal::BudgetOrg(state, ix, b);
    if (org.empty() || (b.period() != v1::BUDGET_PERIOD_DAILY &&
                        b.period() != v1::BUDGET_PERIOD_MONTHLY)) {
      continue;
    }
    auto [it, inserted] = budget_scopes.emplace(
        absl::StrCat(org, "/", b.cloud_id(), "/", b.project_id(), "/",
                     static_cast<int>(b.period())),
        i);
    if (!inserted) {
      out.Add(
          absl::StatusCode::kAlreadyExists, Path("budgets", i, ""),
          absl::StrCat("a ", internal::PeriodName(b.period()), " budget for ",
                       internal::BudgetScope(b), " already exists: budgets[",
                       it->second, "] (", Quote(state.budgets(it->second).id()),
                       "); one daily and one monthly budget per (cloud, "
                       "project)"));
    }
  }
  std::vector<absl::Status> result = std::move(out.list());
  return result;
}

namespace {

absl::Status First(internal::Problems& out) {
  return out.list().empty() ? absl::OkStatus() : out.list().front();
}

}  // namespace

absl::Status ValidateQuotaChange(const v1::PolicySet& state, int index,
                                 const v1::ResourceQuota& candidate) {
  using internal::Path;
  using internal::Quote;
  if (index < -1 || index >= state.quotas_size()) {
    return absl::OutOfRangeError(absl::StrCat("quota index ", index,
                                              " is not -1 (new) or in [0, ",
                                              state.quotas_size(), ")"));
  }
  const int i = index < 0 ? state.quotas_size() : index;
  const v1::ResourceQuota* old = index < 0 ? nullptr : &state.quotas(index);
  internal::Problems out(1);
  if (old != nullptr) {
    if (candidate.id() != old->id()) {
      out.Add(
          absl::StatusCode::kInvalidArgument, Path("quotas", i, "id"),
          absl::StrCat("the id of a quota cannot change (", Quote(old->id()),
                       " -> ", Quote(candidate.id()), ")"));
      return First(out);
    }
    if (internal::Deleted(*old)) {
      out.Add(absl::StatusCode::kFailedPrecondition, Path("quotas", i, ""),
              absl::StrCat("quota ", Quote(old->id()),
                           " is deleted and cannot change"));
      return First(out);
    }
  }
  internal::CheckCommon("quotas", i, candidate, out);
  if (!out.list().empty()) return First(out);
  internal::StateIndex ix(state);
  if (old == nullptr) {
    const std::string owner =
        internal::IdOwner(state, ix, candidate.id(), "quotas", -1);
    if (!owner.empty()) {
      out.Add(absl::StatusCode::kAlreadyExists, Path("quotas", i, "id"),
              absl::StrCat("duplicate id ", Quote(candidate.id()), " (also ",
                           owner, ")"));
      return First(out);
    }
  }
  if (internal::Deleted(candidate)) return absl::OkStatus();
  internal::CheckQuotaFields(state, ix, i, candidate, out);
  if (!out.list().empty()) return First(out);
  // A new quota, or one moved to another user, may not name a deleted user.
  if (!candidate.user_id().empty() &&
      (old == nullptr || old->user_id() != candidate.user_id())) {
    const v1::Principal& p =
        state.principals(ix.principals.at(candidate.user_id()));
    if (p.state() == v1::PRINCIPAL_STATE_DELETED) {
      out.Add(absl::StatusCode::kFailedPrecondition,
              Path("quotas", i, "user_id"),
              absl::StrCat("user ", Quote(candidate.user_id()), " is deleted"));
      return First(out);
    }
  }
  for (int j = 0; j < state.quotas_size(); ++j) {
    if (j == index || internal::Deleted(state.quotas(j))) continue;
    if (internal::SameQuotaScope(state.quotas(j), candidate)) {
      out.Add(absl::StatusCode::kAlreadyExists, Path("quotas", i, ""),
              absl::StrCat("a quota for ", internal::QuotaScope(candidate),
                           " already exists: quotas[", j, "] (",
                           Quote(state.quotas(j).id()),
                           "); one quota per (cloud, project, user)"));
      return First(out);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBudgetChange(const v1::PolicySet& state, int index,
                                  const v1::Budget& candidate) {
  using internal::Path;
  using internal::Quote;
  if (index < -1 || index >= state.budgets_size()) {
    return absl::OutOfRangeError(absl::StrCat("budget index ", index,
                                              " is not -1 (new) or in [0, ",
                                              state.budgets_size(), ")"));
  }
  const int i = index < 0 ? state.budgets_size() : index;
  const v1::Budget* old = index < 0 ? nullptr : &state.budgets(index);
  internal::Problems out(1);
  if (old != nullptr) {
    if (candidate.id() != old->id()) {
      out.Add(
          absl::StatusCode::kInvalidArgument, Path("budgets", i, "id"),
          absl::StrCat("the id of a budget cannot change (", Quote(old->id()),
                       " -> ", Quote(candidate.id()), ")"));
      return First(out);
    }
    if (internal::Deleted(*old)) {
      out.Add(absl::StatusCode::kFailedPrecondition, Path("budgets", i, ""),
              absl::StrCat("budget ", Quote(old->id()),
                           " is deleted and cannot change"));
      return First(out);
    }
  }
  internal::CheckCommon("budgets", i, candidate, out);
  if (!out.list().empty()) return First(out);
  internal::StateIndex ix(state);
  if (old == nullptr) {
    const std::string owner =
        internal::IdOwner(state, ix, candidate.id(), "budgets", -1);
    if (!owner.empty()) {
      out.Add(absl::StatusCode::kAlreadyExists, Path("budgets", i, "id"),
              absl::StrCat("duplicate id ", Quote(candidate.id()), " (also ",
                           owner, ")"));
      return First(out);
    }
  }
  if (internal::Deleted(candidate)) return absl::OkStatus();
  internal::CheckBudgetFields(state, ix, i, candidate, out);
  if (!out.list().empty()) return First(out);
  const absl::string_view org = internal::BudgetOrg(state, ix, candidate);
  for (int j = 0; j < state.budgets_size(); ++j) {
    const v1::Budget& b = state.budgets(j);
    if (j == index || internal::Deleted(b)) continue;
    if (b.period() == candidate.period() &&
        b.cloud_id() == candidate.cloud_id() &&
        b.project_id() == candidate.project_id() &&
        internal::BudgetOrg(state, ix, b) == org) {
      out.Add(absl::StatusCode::kAlreadyExists, Path("budgets", i, ""),
              absl::StrCat("a ", internal::PeriodName(candidate.period()),
                           " budget for ", internal::BudgetScope(candidate),
                           " already exists: budgets[", j, "] (", Quote(b.id()),
                           "); one daily and one monthly budget per (cloud, "
                           "project)"));
      return First(out);
    }
  }
  return absl::OkStatus();
}

}  // namespace arbiter
