// How the arbiter command prints a Decision: one text line for people, one
// JSON object for machines (the `check --queries` output schema, documented
// in docs/cli.md).
//
//   ALLOW PUBLIC_PROJECT grant=g_frank_prod_auto source=AUTO_ADD
//   rule=public_project revision=1
//   {"effect":"ALLOW","reason":"PUBLIC_PROJECT","grant":"g_frank_prod_auto",
//    "source":"AUTO_ADD","rule":"public_project","revision":1}

#ifndef ARBITER_TOOLS_DECISION_FORMAT_H_
#define ARBITER_TOOLS_DECISION_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"

namespace arbiter {
namespace cli {

class DecisionFormatter {
 public:
  // Resolves the implicit-rule names of `engine`'s profile once.
  explicit DecisionFormatter(const Engine& engine);

  // The implicit rule behind the decision's reason, or empty.
  absl::string_view Rule(Reason reason) const {
    return rules_[static_cast<size_t>(reason) % kNumReasons];
  }

  // Appends the JSON object and a newline. `id_json`, if not empty, is a raw
  // JSON token echoed as "id".
  void AppendJson(const Decision& d, absl::string_view id_json,
                  std::string* out) const;

  // The text line, without a newline.
  std::string Text(const Decision& d) const;

 private:
  static constexpr size_t kNumReasons =
      static_cast<size_t>(Reason::kInternalError) + 1;
  absl::string_view rules_[kNumReasons];
};

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_DECISION_FORMAT_H_
