#include "tools/decision_format.h"

#include "absl/strings/str_cat.h"
#include "tools/names.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {

DecisionFormatter::DecisionFormatter(const Engine& engine) {
  for (size_t i = 0; i < kNumReasons; ++i) {
    rules_[i] = RuleForReason(static_cast<Reason>(i), engine.profile());
  }
}

void DecisionFormatter::AppendJson(const Decision& d, absl::string_view id_json,
                                   std::string* out) const {
  out->push_back('{');
  if (!id_json.empty()) {
    out->append("\"id\":");
    out->append(id_json.data(), id_json.size());
    out->push_back(',');
  }
  out->append(d.allowed() ? "\"effect\":\"ALLOW\",\"reason\":\""
                          : "\"effect\":\"DENY\",\"reason\":\"");
  const absl::string_view reason = ReasonName(d.reason);
  out->append(reason.data(), reason.size());
  out->append("\",\"grant\":");
  if (d.grant_id.empty()) {
    out->append("null");
  } else {
    AppendJsonString(d.grant_id, out);
  }
  out->append(",\"source\":\"");
  const absl::string_view source = GrantSourceName(d.source);
  out->append(source.data(), source.size());
  out->append("\",\"rule\":");
  const absl::string_view rule = Rule(d.reason);
  if (rule.empty()) {
    out->append("null");
  } else {
    AppendJsonString(rule, out);
  }
  out->append(",\"revision\":");
  absl::StrAppend(out, d.revision);
  out->append("}\n");
}

std::string DecisionFormatter::Text(const Decision& d) const {
  std::string out =
      absl::StrCat(d.allowed() ? "ALLOW " : "DENY ", ReasonName(d.reason));
  if (!d.grant_id.empty()) {
    absl::StrAppend(&out, " grant=", d.grant_id,
                    " source=", GrantSourceName(d.source));
  }
  const absl::string_view rule = Rule(d.reason);
  if (!rule.empty()) absl::StrAppend(&out, " rule=", rule);
  absl::StrAppend(&out, " revision=", d.revision);
  return out;
}

}  // namespace cli
}  // namespace arbiter
