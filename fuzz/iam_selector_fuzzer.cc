// Fuzz target: the cloud IAM mapping selector parser and the rules compiled
// from it.
//
// The input (at most 4 KiB) is one selector. For every input it checks:
//  * ParseSelector never crashes; an error is InvalidArgument "column N: ..."
//    with 1 <= N <= size + 1;
//  * a parsed selector's requirement spans and value offsets lie inside the
//    text and point at the values;
//  * FormatSelector's output parses to the same requirements (when every
//    pattern is self-delimiting), and formatting is idempotent;
// and, when the selector also compiles as a rule (patterns within the
// limits), for a few workloads:
//  * Resolve never crashes and its decision equals Explain's;
//  * the rule matches exactly when Explain's plain list-order scan reports no
//    failing requirement, and the failing requirement is a requirement of
//    the selector as written.
// Any violation aborts, as does any sanitizer report.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "arbiter/engine_options.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/v1/policy_set.pb.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/text_format.h"
#include "src/compiler/compiler.h"
#include "src/internal/diagnostics.h"
#include "src/iam/iam_mappings.h"
#include "src/iam/selector.h"

namespace arbiter {
namespace {

using internal::FormatSelector;
using internal::ParsedSelector;
using internal::ParseSelector;
using internal::ScanPattern;
using internal::SelectorOp;
using internal::SelectorRequirement;

constexpr char kState[] = R"pb(
  organizations { id: "org_1" name: "acme" }
  clouds {
    id: "cld_1"
    org_id: "org_1"
    name: "prod"
    iam_mapping { default_identity: "node-role" default_behavior: FAIL }
  }
  projects { id: "prj_d" cloud_id: "cld_1" name: "default" is_default: true }
  projects { id: "prj_w" cloud_id: "cld_1" name: "web" }
  projects { id: "prj_m" cloud_id: "cld_1" name: "ml-prod" }
  principals {
    id: "usr_a"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "alice@acme.com"
  }
)pb";

struct Base {
  v1::PolicySet state;
  std::unique_ptr<internal::Snapshot> compiled;
};

const Base& GetBase() {
  static const Base* base = [] {
    auto* b = new Base;
    FUZZ_CHECK(google::protobuf::TextFormat::ParseFromString(kState, &b->state),
               "base state");
    internal::Diagnostics diag(10);
    EngineOptions options;
    options.max_regex_program_size = 300;
    // Bob+x@Example.org is no principal: let it reach the rules.
    options.iam_match_unknown_users = true;
    b->compiled = internal::Compile(b->state, options, diag);
    FUZZ_CHECK(b->compiled != nullptr, diag.ToStatus().ToString());
    return b;
  }();
  return *base;
}

bool SameRequirements(const ParsedSelector& a, const ParsedSelector& b) {
  if (a.requirements.size() != b.requirements.size()) return false;
  for (size_t i = 0; i < a.requirements.size(); ++i) {
    const SelectorRequirement& x = a.requirements[i];
    const SelectorRequirement& y = b.requirements[i];
    if (x.key != y.key || x.op != y.op || x.values != y.values) return false;
  }
  return true;
}

void CheckParse(absl::string_view text, const ParsedSelector& parsed) {
  bool self_delimiting = true;
  for (const SelectorRequirement& r : parsed.requirements) {
    FUZZ_CHECK(r.begin < r.end && r.end <= text.size(), "span");
    FUZZ_CHECK(r.values.size() == r.value_offsets.size(), "offsets");
    for (size_t i = 0; i < r.values.size(); ++i) {
      FUZZ_CHECK(!r.values[i].empty(), "empty value");
      FUZZ_CHECK(
          text.substr(r.value_offsets[i], r.values[i].size()) == r.values[i],
          "value offset");
    }
    if (r.op == SelectorOp::kMatches) {
      const std::string probe = r.values[0] + ",";
      size_t significant;
      bool closed;
      if (ScanPattern(probe, 0, &significant, &closed) != r.values[0].size()) {
        self_delimiting = false;
      }
    }
  }
  const std::string canonical = FormatSelector(parsed);
  absl::StatusOr<ParsedSelector> again = ParseSelector(canonical);
  if (self_delimiting) {
    FUZZ_CHECK(again.ok(), canonical, " -> ", again.status().ToString());
    FUZZ_CHECK(SameRequirements(parsed, *again), canonical);
  }
  if (again.ok()) {
    FUZZ_CHECK(FormatSelector(*again) == canonical || !self_delimiting,
               canonical);
  }
}

void CheckRules(absl::string_view text) {
  const Base& base = GetBase();
  v1::PolicySet state = base.state;
  v1::IamMapping* m = state.mutable_clouds(0)->mutable_iam_mapping();
  v1::IamMappingRule* rule = m->add_rules();
  rule->set_selector(std::string(text));
  rule->set_identity("fuzzed-role");
  internal::Diagnostics diag(10);
  std::shared_ptr<const internal::IamMappings> iam =
      internal::IamMappings::Compile(state, *base.compiled, diag);
  if (iam == nullptr) return;  // e.g. a pattern over the limits
  static const v1::WorkloadType kTypes[] = {
      v1::WORKLOAD_TYPE_JOB, v1::WORKLOAD_TYPE_SERVICE,
      v1::WORKLOAD_TYPE_WORKSPACE, v1::WORKLOAD_TYPE_CLUSTER};
  static const char* const kProjects[] = {"", "web", "ml-prod"};
  static const char* const kUsers[] = {"alice@acme.com", "usr_a",
                                       "Bob+x@Example.org"};
  for (int i = 0; i < 12; ++i) {
    WorkloadAttributes w;
    w.cloud = "prod";
    w.type = kTypes[i % 4];
    w.project = kProjects[i % 3];
    w.user = kUsers[(i / 4) % 3];
    const IamDecision d = iam->Resolve(*base.compiled, w, 0);
    const IamExplanation e = iam->Explain(*base.compiled, w, 0);
    FUZZ_CHECK(d == e.decision, "Resolve and Explain differ");
    FUZZ_CHECK(e.rules.size() == 1, "one rule traced");
    const bool matched = d.outcome == IamOutcome::kMapped;
    FUZZ_CHECK(matched == e.rules[0].matched, "trace disagrees");
    FUZZ_CHECK(matched || d.reason == IamReason::kNoRuleMatched,
               IamReasonName(d.reason));
    if (!matched) {
      const std::string& failed = e.rules[0].failed_requirement;
      const size_t colon = failed.rfind(": ");
      FUZZ_CHECK(colon != std::string::npos, failed);
      FUZZ_CHECK(absl::StrContains(text, failed.substr(0, colon)), failed);
    }
  }
}

}  // namespace
}  // namespace arbiter

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<arbiter::internal::ParsedSelector> parsed =
      arbiter::internal::ParseSelector(text);
  if (!parsed.ok()) {
    const absl::string_view message = parsed.status().message();
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(absl::StartsWith(message, "column "), message);
    const absl::string_view rest = message.substr(7);
    size_t column;
    FUZZ_CHECK(absl::SimpleAtoi(rest.substr(0, rest.find(':')), &column),
               message);
    FUZZ_CHECK(column >= 1 && column <= size + 1, message);
    return 0;
  }
  arbiter::CheckParse(text, *parsed);
  arbiter::CheckRules(text);
  return 0;
}
