// File: arbiter/explanation.h
//
// An Explanation is a Check rendered for a person: the principal's groups,
// every grant on the resource's path that was considered (live or expired,
// allow or deny), which one decided, which deny role subtracted, which
// prerequisite was missing, and which expired grants would have changed the
// decision. Engine::Explain produces it; its decision is
// always the one Check returns for the same request.

#ifndef ARBITER_EXPLANATION_H_
#define ARBITER_EXPLANATION_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"

namespace arbiter {

struct ConsideredGrant {
  std::string grant_id;
  std::string subject_id;  // the principal, or the group that holds it
  bool via_group = false;
  std::string role;
  std::string scope_id;
  std::string scope_type;  // "org", "cloud" or "project"
  bool deny_role = false;
  // False when expired at the decision time.
  bool live = true;
  // The grant's expires_at, when it has one.
  absl::optional<absl::Time> expires_at;
  // Expired, and live it would have changed the decision: an allow grant
  // that would hold the permission, meet the cloud prerequisite or imply a
  // project role that holds it (against an RBAC denial), or a deny grant
  // that would subtract it (against an allow). Explanation::steps has a
  // line for each, with its expiry, before the verdict.
  bool expired_would_apply = false;
  // The role holds the requested permission (for a deny role: subtracts it).
  bool matches_permission = false;
  // A short note: "decided", "exempt: holds project_owner", "expired", ...
  std::string note;
};

struct Explanation {
  Decision decision;
  // Resolved names (empty when the request named something unknown).
  std::string principal_id;
  std::string permission;
  std::string resource_id;
  // The resource the permission is evaluated on (the project of a workload
  // for a project permission, ...).
  std::string anchor_id;
  std::vector<std::string> groups;  // the principal's groups, transitively
  std::vector<ConsideredGrant> grants;
  // The evaluation, one line per step, in order.
  std::vector<std::string> steps;

  // A multi-line rendering for terminals.
  std::string ToString() const;
};

}  // namespace arbiter

#endif  // ARBITER_EXPLANATION_H_
