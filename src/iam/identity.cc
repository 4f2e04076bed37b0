#include "src/iam/identity.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {

std::string CheckIamIdentity(absl::string_view identity, size_t max_length) {
  if (identity.empty()) return "missing identity";
  if (identity.size() > max_length) {
    return absl::StrCat("identity of ", identity.size(),
                        " bytes exceeds the limit of ", max_length,
                        " (EngineOptions::max_name_length)");
  }
  for (char c : identity) {
    if (c <= ' ' || c > '~') {
      return absl::StrCat("invalid identity ", Quote(identity),
                          " (printable ASCII without spaces)");
    }
  }
  if (absl::StartsWithIgnoreCase(identity, "arn:")) {
    // arn:aws:iam::123456789012:role/path/cld_abc-cluster_node_role
    absl::string_view name = identity;
    const size_t slash = name.rfind('/');
    name.remove_prefix(slash == absl::string_view::npos ? name.rfind(':') + 1
                                                        : slash + 1);
    std::string message =
        absl::StrCat("identity ", Quote(identity),
                     " is an ARN; give the role or instance-profile name");
    if (!name.empty()) absl::StrAppend(&message, " (", Quote(name), ")");
    return message;
  }
  return "";
}

}  // namespace internal
}  // namespace arbiter
