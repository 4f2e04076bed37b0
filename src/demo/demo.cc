#include "arbiter/demo.h"

#include "absl/base/internal/raw_logging.h"
#include "google/protobuf/text_format.h"

namespace arbiter {
namespace {

// Generated from src/demo/demo_org.textproto by the build.
constexpr char kDemoText[] =
#include "src/demo/demo_org.inc"
    ;

}  // namespace

absl::string_view DemoPolicySetText() { return kDemoText; }

const v1::PolicySet& DemoPolicySet() {
  static const v1::PolicySet* const state = [] {
    auto* s = new v1::PolicySet();
    if (!google::protobuf::TextFormat::ParseFromString(kDemoText, s)) {
      ABSL_RAW_LOG(FATAL, "arbiter: the built-in demo state does not parse");
    }
    return s;
  }();
  return *state;
}

}  // namespace arbiter
