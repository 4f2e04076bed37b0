// Parsers for the values of the arbiter command's flags: engine options
// (`--option key=value`), RFC 3339 instants (`--at`), channels, workload
// types and byte sizes. Pure functions; errors are InvalidArgument with a
// one-line message that names the flag or key.

#ifndef ARBITER_TOOLS_CLI_OPTIONS_H_
#define ARBITER_TOOLS_CLI_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/engine_options.h"
#include "arbiter/request.h"
#include "arbiter/v1/resource.pb.h"

namespace arbiter {
namespace cli {

// Applies one `key=value` (access-model §12 knobs):
//   cloud_owner_private_project_access=true|false
//   cloud_owner_configures_iam_mapping=true|false
//   allow_service_account_org_owner=true|false
//   project_write_workload_delete=never|own|all
//   cloud_owner_deletes_cloud=true|false
//   iam_override_precedence=mapping_wins|compute_config_wins
absl::Status ApplyEngineOption(absl::string_view key_value,
                               EngineOptions* options);
// The same with key and value apart (test suites keep them in a map).
absl::Status ApplyEngineOption(absl::string_view key, absl::string_view value,
                               EngineOptions* options);

// The list of keys above, for --help.
std::string EngineOptionsHelp();

// "2026-12-01T00:00:00Z", "2026-12-01T09:30:00+02:00", fractions allowed.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);
// "2026-12-01T00:00:00Z" (UTC, no fraction unless needed).
std::string FormatRfc3339(absl::Time t);

// "api" or "console".
absl::StatusOr<Channel> ParseChannel(absl::string_view text);
absl::string_view ChannelName(Channel channel);

// "job", "service", "workspace" or "cluster" (WorkloadTypeLabel).
absl::StatusOr<v1::WorkloadType> ParseWorkloadType(absl::string_view text);

// A byte count: "1048576", "64K", "256M", "1G" (binary multiples).
absl::StatusOr<size_t> ParseByteSize(absl::string_view text);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_CLI_OPTIONS_H_
