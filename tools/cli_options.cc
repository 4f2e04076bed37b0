#include "tools/cli_options.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/iam_mapping.h"

namespace arbiter {
namespace cli {
namespace {

absl::Status ParseBool(absl::string_view key, absl::string_view value,
                       bool* out) {
  if (value == "true" || value == "1") {
    *out = true;
  } else if (value == "false" || value == "0") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "option ", key, ": expected true or false, got \"", value, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyEngineOption(absl::string_view key_value,
                               EngineOptions* options) {
  const size_t eq = key_value.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("option \"", key_value, "\": expected key=value"));
  }
  return ApplyEngineOption(key_value.substr(0, eq), key_value.substr(eq + 1),
                           options);
}

absl::Status ApplyEngineOption(absl::string_view key, absl::string_view value,
                               EngineOptions* options) {
  if (key == "cloud_owner_private_project_access") {
    return ParseBool(key, value, &options->cloud_owner_private_project_access);
  }
  if (key == "cloud_owner_configures_iam_mapping") {
    return ParseBool(key, value, &options->cloud_owner_configures_iam_mapping);
  }
  if (key == "allow_service_account_org_owner") {
    return ParseBool(key, value, &options->allow_service_account_org_owner);
  }
  if (key == "cloud_owner_deletes_cloud") {
    return ParseBool(key, value, &options->cloud_owner_deletes_cloud);
  }
  if (key == "project_write_workload_delete") {
    if (value == "never") {
      options->project_write_workload_delete = WorkloadDeletePolicy::kNever;
    } else if (value == "own") {
      options->project_write_workload_delete =
          WorkloadDeletePolicy::kOwnWorkloads;
    } else if (value == "all") {
      options->project_write_workload_delete =
          WorkloadDeletePolicy::kAllWorkloads;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "option ", key, ": expected never, own or all, got \"", value, "\""));
    }
    return absl::OkStatus();
  }
  if (key == "strict_grant_rules") {
    return ParseBool(key, value, &options->strict_grant_rules);
  }
  if (key == "scope_summaries") {
    return ParseBool(key, value, &options->scope_summaries);
  }
  if (key == "iam_match_unknown_users") {
    return ParseBool(key, value, &options->iam_match_unknown_users);
  }
  if (key == "iam_override_precedence") {
    if (value == "mapping_wins") {
      options->iam_override_precedence = IamOverridePrecedence::kMappingWins;
    } else if (value == "compute_config_wins") {
      options->iam_override_precedence =
          IamOverridePrecedence::kComputeConfigWins;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("option ", key,
                       ": expected mapping_wins or compute_config_wins, "
                       "got \"",
                       value, "\""));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown option \"", key, "\"; 'arbiter help options' lists the keys"));
}

std::string EngineOptionsHelp() {
  return "  cloud_owner_private_project_access=true|false  (default false)\n"
         "      cloud owners implicitly own the cloud's private projects\n"
         "  cloud_owner_configures_iam_mapping=true|false  (default false)\n"
         "      cloud owners may configure the cloud's IAM mapping\n"
         "  allow_service_account_org_owner=true|false     (default false)\n"
         "      a service account may hold org_owner\n"
         "  project_write_workload_delete=never|own|all    (default own)\n"
         "      which workloads project writers may delete\n"
         "  cloud_owner_deletes_cloud=true|false           (default true)\n"
         "      cloud owners may delete their cloud\n"
         "  iam_override_precedence=mapping_wins|compute_config_wins\n"
         "      (default mapping_wins) a compute config's IAM identity vs the\n"
         "      cloud IAM mapping\n"
         "  iam_match_unknown_users=true|false             (default false)\n"
         "      IAM mapping matches emails that no principal holds (by\n"
         "      default they are FAIL UNKNOWN_PRINCIPAL)\n"
         "  strict_grant_rules=true|false                  (default false)\n"
         "      breaches of the grant-time rules are errors, not warnings\n"
         "  scope_summaries=true|false                     (default true)\n"
         "      decide from per-principal scope summaries (an optimisation:\n"
         "      the answers are the same either way)\n";
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (text.empty() ||
      !absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid RFC 3339 time \"", text, "\" (e.g. 2026-12-01T00:00:00Z)"));
  }
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<Channel> ParseChannel(absl::string_view text) {
  if (text == "api") return Channel::kApi;
  if (text == "console") return Channel::kConsole;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown channel \"", text, "\" (api or console)"));
}

absl::string_view ChannelName(Channel channel) {
  return channel == Channel::kConsole ? "console" : "api";
}

absl::StatusOr<v1::WorkloadType> ParseWorkloadType(absl::string_view text) {
  v1::WorkloadType type;
  if (ParseWorkloadTypeLabel(text, &type)) return type;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown workload type \"", text,
                   "\" (job, service, workspace or cluster)"));
}

absl::StatusOr<size_t> ParseByteSize(absl::string_view text) {
  absl::string_view digits = text;
  uint64_t multiplier = 1;
  if (!digits.empty()) {
    switch (absl::ascii_toupper(digits.back())) {
      case 'K':
        multiplier = uint64_t{1} << 10;
        break;
      case 'M':
        multiplier = uint64_t{1} << 20;
        break;
      case 'G':
        multiplier = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t n;
  if (digits.empty() || !absl::ascii_isdigit(digits[0]) ||
      !absl::SimpleAtoi(digits, &n) || n == 0 ||
      n > std::numeric_limits<uint64_t>::max() / multiplier ||
      n * multiplier > std::numeric_limits<size_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid size \"", text,
                     "\" (a positive byte count, e.g. 4096, 64K, "
                     "256M, 1G)"));
  }
  return static_cast<size_t>(n * multiplier);
}

}  // namespace cli
}  // namespace arbiter
