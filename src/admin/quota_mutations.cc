// The quota and budget mutations of TransactionApplier (access-model §7,
// §8.1): create, enable or disable, modify and delete (a soft delete), each
// guarded by org.quotas.manage or org.budgets.manage on the organization and
// validated by the rules of arbiter/quota.h (one live quota per (cloud,
// project, user), one live daily and one live monthly budget per (cloud,
// project); a deleted object never changes).

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "arbiter/quota.h"
#include "src/admin/refusal.h"
#include "src/admin/transaction.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

constexpr char kManageQuotas[] = "org.quotas.manage";
constexpr char kManageBudgets[] = "org.budgets.manage";

google::protobuf::Timestamp Seconds(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

}  // namespace

absl::Status TransactionApplier::QuotaMutation(const v1::Mutation& m) {
  switch (m.op_case()) {
    case v1::Mutation::kCreateBudget:
    case v1::Mutation::kSetBudgetEnabled:
    case v1::Mutation::kModifyBudget:
    case v1::Mutation::kDeleteBudget:
      return BudgetMutation(m);
    default:
      break;
  }
  if (absl::Status s = Authorize(kManageQuotas, org_); !s.ok()) return s;
  const auto refuse = [&](absl::StatusCode code, Refusal refusal,
                          absl::string_view message) {
    return Refuse(code, refusal, absl::StrCat(field_, ": ", message));
  };
  const auto not_found = [&](absl::string_view id) {
    return refuse(
        absl::StatusCode::kNotFound, Refusal::kNotFound,
        absl::StrCat("no quota ", Quote(id), " in organization ", Quote(org_)));
  };
  // A quota of this organization (another's is as unknown as a missing one).
  const auto find = [&](const std::string& id) -> const v1::ResourceQuota* {
    const v1::ResourceQuota* q = state_.Quota(id);
    if (q == nullptr) return nullptr;
    const v1::Cloud* c = state_.Cloud(q->cloud_id());
    return c != nullptr && c->org_id() == org_ ? q : nullptr;
  };
  switch (m.op_case()) {
    case v1::Mutation::kCreateQuota: {
      v1::ResourceQuota q = m.create_quota().quota();
      if (q.id().empty()) q.set_id(NewId("rsq_"));
      if (state_.Quota(q.id()) != nullptr) {
        return refuse(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                      absl::StrCat("quota ", Quote(q.id()), " exists"));
      }
      q.set_creator_id(actor_);
      *q.mutable_created_at() = Seconds(now_);
      q.clear_deleted_at();
      return PutQuota(std::move(q), audit_action::kCreate);
    }
    case v1::Mutation::kSetQuotaEnabled: {
      const std::string& id = m.set_quota_enabled().quota_id();
      const v1::ResourceQuota* q = find(id);
      if (q == nullptr) return not_found(id);
      v1::ResourceQuota next = *q;
      next.set_enabled(m.set_quota_enabled().enabled());
      // MODIFY, as for a budget (§9 [D]: BUDGET MODIFY carries
      // is_enabled).
      return PutQuota(std::move(next), audit_action::kModify);
    }
    case v1::Mutation::kModifyQuota: {
      const v1::ResourceQuota& given = m.modify_quota().quota();
      if (given.id().empty()) {
        return refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                      "quota.id: name the quota to modify");
      }
      const v1::ResourceQuota* q = find(given.id());
      if (q == nullptr) return not_found(given.id());
      v1::ResourceQuota next = given;
      next.set_creator_id(q->creator_id());
      *next.mutable_created_at() = q->created_at();
      if (q->has_deleted_at()) {
        *next.mutable_deleted_at() = q->deleted_at();
      } else {
        next.clear_deleted_at();
      }
      return PutQuota(std::move(next), audit_action::kModify);
    }
    case v1::Mutation::kDeleteQuota: {
      const std::string& id = m.delete_quota().quota_id();
      const v1::ResourceQuota* q = find(id);
      if (q == nullptr || q->has_deleted_at()) return not_found(id);
      v1::ResourceQuota next = *q;
      *next.mutable_deleted_at() = Seconds(now_);
      return PutQuota(std::move(next), audit_action::kDelete);
    }
    default:
      return absl::InternalError(
          absl::StrCat(field_, ": not a quota or budget mutation"));
  }
}

absl::Status TransactionApplier::BudgetMutation(const v1::Mutation& m) {
  if (absl::Status s = Authorize(kManageBudgets, org_); !s.ok()) return s;
  const auto refuse = [&](absl::StatusCode code, Refusal refusal,
                          absl::string_view message) {
    return Refuse(code, refusal, absl::StrCat(field_, ": ", message));
  };
  const auto not_found = [&](absl::string_view id) {
    return refuse(absl::StatusCode::kNotFound, Refusal::kNotFound,
                  absl::StrCat("no budget ", Quote(id), " in organization ",
                               Quote(org_)));
  };
  // A budget of this organization (another's is as unknown as a missing one).
  const auto find = [&](const std::string& id) -> const v1::Budget* {
    const v1::Budget* b = state_.Budget(id);
    return b != nullptr && b->org_id() == org_ ? b : nullptr;
  };
  switch (m.op_case()) {
    case v1::Mutation::kCreateBudget: {
      v1::Budget b = m.create_budget().budget();
      if (b.id().empty()) b.set_id(NewId("bgt_"));
      if (b.org_id().empty()) b.set_org_id(org_);
      if (b.org_id() != org_) {
        return refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                      absl::StrCat("budget.org_id: ", Quote(b.org_id()),
                                   " is not the transaction's organization ",
                                   Quote(org_)));
      }
      if (state_.Budget(b.id()) != nullptr) {
        return refuse(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                      absl::StrCat("budget ", Quote(b.id()), " exists"));
      }
      b.set_creator_id(actor_);
      *b.mutable_created_at() = Seconds(now_);
      b.clear_deleted_at();
      return PutBudget(std::move(b), audit_action::kCreate);
    }
    case v1::Mutation::kSetBudgetEnabled: {
      // §9 [D]: BUDGET MODIFY (id, is_enabled, ...) is how the console
      // records enabling and disabling a budget.
      const std::string& id = m.set_budget_enabled().budget_id();
      const v1::Budget* b = find(id);
      if (b == nullptr) return not_found(id);
      v1::Budget next = *b;
      next.set_enabled(m.set_budget_enabled().enabled());
      return PutBudget(std::move(next), audit_action::kModify);
    }
    case v1::Mutation::kModifyBudget: {
      const v1::Budget& given = m.modify_budget().budget();
      if (given.id().empty()) {
        return refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                      "budget.id: name the budget to modify");
      }
      const v1::Budget* b = find(given.id());
      if (b == nullptr) return not_found(given.id());
      v1::Budget next = given;
      next.set_org_id(b->org_id());
      next.set_creator_id(b->creator_id());
      *next.mutable_created_at() = b->created_at();
      if (b->has_deleted_at()) {
        *next.mutable_deleted_at() = b->deleted_at();
      } else {
        next.clear_deleted_at();
      }
      return PutBudget(std::move(next), audit_action::kModify);
    }
    case v1::Mutation::kDeleteBudget: {
      const std::string& id = m.delete_budget().budget_id();
      const v1::Budget* b = find(id);
      if (b == nullptr || b->has_deleted_at()) return not_found(id);
      v1::Budget next = *b;
      *next.mutable_deleted_at() = Seconds(now_);
      return PutBudget(std::move(next), audit_action::kDelete);
    }
    default:
      return absl::InternalError(
          absl::StrCat(field_, ": not a budget mutation"));
  }
}

absl::Status TransactionApplier::ResolveProject(absl::string_view cloud_id,
                                                std::string* project,
                                                const char* field) const {
  // An id of the state stays as it is (validation checks its cloud); else a
  // project name within the cloud.
  if (project->empty() || state_.Project(*project) != nullptr) {
    return absl::OkStatus();
  }
  absl::StatusOr<const v1::Project*> p =
      FindProject(absl::StrCat(cloud_id, "/", *project), field);
  if (!p.ok()) return p.status();
  *project = (*p)->id();
  return absl::OkStatus();
}

absl::Status TransactionApplier::PutQuota(v1::ResourceQuota quota,
                                          absl::string_view action) {
  // The cloud, project and user may be named as §7.1's CreateResourceQuota
  // names them (a cloud name, a project name in that cloud, an email): the
  // quota stores ids.
  if (!quota.cloud_id().empty()) {
    absl::StatusOr<const v1::Cloud*> c =
        FindCloud(quota.cloud_id(), "quota.cloud_id");
    if (!c.ok()) return c.status();
    quota.set_cloud_id((*c)->id());
    if (absl::Status s = ResolveProject(
            quota.cloud_id(), quota.mutable_project_id(), "quota.project_id");
        !s.ok()) {
      return s;
    }
  }
  if (absl::StrContains(quota.user_id(), '@')) {
    absl::StatusOr<const v1::Principal*> p =
        FindPrincipal(quota.user_id(), "quota.user_id");
    if (!p.ok()) return p.status();
    quota.set_user_id((*p)->id());
  }
  const int index = state_.Position(ObjKind::kQuota, quota.id());
  if (absl::Status s = ValidateQuotaChange(state_.state(), index, quota);
      !s.ok()) {
    return Refuse(s.code(),
                  s.code() == absl::StatusCode::kAlreadyExists
                      ? Refusal::kDuplicateQuota
                  : s.code() == absl::StatusCode::kNotFound ? Refusal::kNotFound
                                                            : Refusal::kInvalid,
                  absl::StrCat(field_, ": ", s.message()));
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_quotas() = quota;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  quotas_changed_ = true;
  Audit(action, audit_entity::kResourceQuota, quota.id(), {{"id", quota.id()}});
  SetAuditMetadataBool(&audit_.back(), "is_enabled", quota.enabled());
  return absl::OkStatus();
}

absl::Status TransactionApplier::PutBudget(v1::Budget budget,
                                           absl::string_view action) {
  if (!budget.cloud_id().empty()) {
    absl::StatusOr<const v1::Cloud*> c =
        FindCloud(budget.cloud_id(), "budget.cloud_id");
    if (!c.ok()) return c.status();
    budget.set_cloud_id((*c)->id());
    if (absl::Status s =
            ResolveProject(budget.cloud_id(), budget.mutable_project_id(),
                           "budget.project_id");
        !s.ok()) {
      return s;
    }
  }
  const int index = state_.Position(ObjKind::kBudget, budget.id());
  if (absl::Status s = ValidateBudgetChange(state_.state(), index, budget);
      !s.ok()) {
    return Refuse(s.code(),
                  s.code() == absl::StatusCode::kAlreadyExists
                      ? Refusal::kDuplicateBudget
                  : s.code() == absl::StatusCode::kNotFound ? Refusal::kNotFound
                                                            : Refusal::kInvalid,
                  absl::StrCat(field_, ": ", s.message()));
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_budgets() = budget;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  quotas_changed_ = true;
  // §9 [D]: BUDGET CREATE / DELETE (id), MODIFY (id, is_enabled, b...).
  Audit(action, audit_entity::kBudget, budget.id(), {{"id", budget.id()}});
  SetAuditMetadataBool(&audit_.back(), "is_enabled", budget.enabled());
  SetAuditMetadataNumber(&audit_.back(), "budget_amount",
                         budget.amount_credits());
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace arbiter
