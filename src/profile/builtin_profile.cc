#include "arbiter/profile.h"

#include <cstdlib>

#include "absl/base/internal/raw_logging.h"
#include "google/protobuf/text_format.h"

namespace arbiter {
namespace {

// Generated from src/profile/anyscale_profile.textproto by the build.
constexpr char kProfileText[] =
#include "src/profile/anyscale_profile.inc"
    ;

}  // namespace

absl::string_view BuiltinProfileText() { return kProfileText; }

const v1::Profile& BuiltinProfile() {
  static const v1::Profile* const profile = [] {
    auto* p = new v1::Profile();
    if (!google::protobuf::TextFormat::ParseFromString(kProfileText, p)) {
      // The text is compiled into the library and covered by tests; failing
      // here means a corrupt build, and no decision could be trusted.
      ABSL_RAW_LOG(FATAL, "arbiter: the built-in profile does not parse");
    }
    return p;
  }();
  return *profile;
}

}  // namespace arbiter
