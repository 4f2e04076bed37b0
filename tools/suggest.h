// "Did you mean": when a request names a principal, permission, resource or
// organization that the state does not have, the arbiter command says which,
// with the closest names it does have:
//
//   unknown permission "project.veiw" (did you mean project.view?)
//   unknown resource "prod/ml-prd" (did you mean prod/ml-prod?)
//
// The candidates come from the loaded v1::PolicySet (ids, emails, paths) and
// the engine's effective profile (permission names). Meant for one-shot
// commands, not the request path: it scans every name of the state.

#ifndef ARBITER_TOOLS_SUGGEST_H_
#define ARBITER_TOOLS_SUGGEST_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/request.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {
namespace cli {

// The optimal string alignment distance between `a` and `b` (insertions,
// deletions, substitutions and swaps of adjacent bytes each cost 1), ASCII
// case-folded when `fold_case`. Stops early: any distance above `limit` is
// returned as `limit + 1`.
size_t EditDistance(absl::string_view a, absl::string_view b, size_t limit,
                    bool fold_case);

// At most `max` of `candidates` closest to `query`, compared ASCII
// case-insensitively: those within an edit distance of
// max(2, query.size() / 4), nearest first, ties in byte order; when there
// are none, those that contain `query` or that `query` contains (either at
// least 3 bytes long), shortest first. `query` itself and duplicates are
// left out; a query over 256 bytes gets nothing.
std::vector<std::string> ClosestNames(
    absl::string_view query, const std::vector<std::string>& candidates,
    size_t max = 3);

// True for the reasons of a request that does not resolve: it names a
// principal, permission, resource or organization the state lacks, or an
// email that several organizations share.
bool IsUnresolved(Reason reason);

// One line that says what of `request` the state lacks, each with the
// closest known names, e.g. `unknown principal "bobb@acme.com" (did you
// mean bob@acme.com?); unknown permission "project.veiw" (did you mean
// project.view?)`. `decision` is the engine's decision for `request`
// (IsUnresolved(decision.reason)); `state` is the PolicySet it compiled.
// `org_flag` names the flag or key that selects an organization ("--org").
std::string DescribeUnresolved(const Engine& engine, const v1::PolicySet& state,
                               const AccessRequest& request,
                               const Decision& decision,
                               absl::string_view org_flag);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_SUGGEST_H_
