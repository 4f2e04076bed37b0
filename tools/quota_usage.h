// Usage files for `arbiter quota check` and `arbiter admit`: JSON Lines of
// v1::UsageEvent (proto/arbiter/v1/quota.proto), one event per line, each
// parsed with the strict JSON reader (internal::ParseStrictJson); blank
// lines are skipped. Cloud, project and creator may be ids or names
// (QuotaBook::Resolve). Replaying a file feeds a QuotaAccountant (started and
// stopped nodes) and a BudgetTracker (spend).

#ifndef ARBITER_TOOLS_QUOTA_USAGE_H_
#define ARBITER_TOOLS_QUOTA_USAGE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/quota.h"
#include "tools/flags.h"

namespace arbiter {
namespace cli {

// A clock stopped at one instant (the --at flag).
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }

 private:
  absl::Time now_;
};

struct UsageReplay {
  size_t events = 0;
  size_t nodes_started = 0;  // counting each event's `count`
  size_t nodes_stopped = 0;
  size_t spend_events = 0;
};

// Replays the usage file `path` ("-" for standard input). Errors are
// InvalidArgument "PATH:LINE: message" (a parse error, a name that does not
// resolve, a stop without a start); what the lines before it did stays
// applied (the caller discards the accountant and tracker).
absl::StatusOr<UsageReplay> ReplayUsageFile(const std::string& path,
                                            size_t max_bytes,
                                            const QuotaBook& book,
                                            QuotaAccountant& accountant,
                                            BudgetTracker& budgets);

// ---- Shared by `quota check` and `admit` ----

// --cpus, --gpus, --accelerator-type, --accelerators.
std::vector<FlagSpec> NodeShapeFlags();

struct NodeShape {
  int64_t cpus = 0;
  int64_t gpus = 0;
  std::string accelerator_type;
  int64_t accelerators = 0;
};

// Reads the node shape flags. InvalidArgument "--cpus: ..." on a bad value.
absl::StatusOr<NodeShape> GetNodeShape(const ParsedArgs& args);

// "CLOUD[/PROJECT]" -> cloud and project (empty: the default project).
void SplitScopePath(const std::string& path, std::string* cloud,
                    std::string* project);

// Every applicable quota of `node` with, per limited dimension, the usage of
// its scope, the node's request and the limit; one quota per line group,
// each line starting with `indent`.
std::string QuotaDetailsText(const QuotaBook& book,
                             const QuotaAccountant& accountant,
                             const Node& node, const NodeAdmission& admission,
                             absl::string_view indent);

// The same as a JSON object: {"outcome", "reason", "applicable": [...],
// "breaches": [...], "reservation"}.
void AppendQuotaJson(const QuotaBook& book, const QuotaAccountant& accountant,
                     const Node& node, const NodeAdmission& admission,
                     std::string* out);

// A budget alert as one text line, and as a JSON object.
std::string BudgetAlertText(const BudgetAlert& alert);
void AppendBudgetAlertJson(const BudgetAlert& alert, std::string* out);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_QUOTA_USAGE_H_
