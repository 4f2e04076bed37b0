// Fuzz target: the CLI's query-line parser (tools/query_line.h), which reads
// one JSON object per line of `arbiter check --queries`.
//
// Input: one line. Checks that:
//  * an error is InvalidArgument whose message says where ("column N: ...")
//    or what is missing;
//  * a parsed line has a principal, a permission and a resource, and every
//    field views either the line or the scratch buffer;
//  * writing the fields back as JSON (AppendJsonString, the id verbatim), in
//    another key order and spacing, parses to the same fields;
//  * a blank line never parses.
// Any violation aborts, as does any sanitizer report.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {
namespace {

bool Within(absl::string_view part, absl::string_view whole) {
  return part.data() >= whole.data() &&
         part.data() + part.size() <= whole.data() + whole.size();
}

struct Fields {
  std::string principal, permission, resource, org, channel, at, id;
  bool operator==(const Fields& o) const {
    return principal == o.principal && permission == o.permission &&
           resource == o.resource && org == o.org && channel == o.channel &&
           at == o.at && id == o.id;
  }
};

Fields Copy(const QueryLine& q) {
  return {std::string(q.principal), std::string(q.permission),
          std::string(q.resource),  std::string(q.org),
          std::string(q.channel),   std::string(q.at),
          std::string(q.id)};
}

// The fields as a JSON line: keys in reverse order, odd spacing, absent
// optional fields omitted.
std::string Encode(const Fields& f) {
  std::vector<std::pair<absl::string_view, const std::string*>> keys = {
      {"id", &f.id},
      {"at", &f.at},
      {"channel", &f.channel},
      {"org", &f.org},
      {"resource", &f.resource},
      {"permission", &f.permission},
      {"principal", &f.principal}};
  std::string out = " {";
  bool first = true;
  for (const auto& [key, value] : keys) {
    if (value->empty()) continue;
    if (!first) out += " ,\t";
    first = false;
    absl::StrAppend(&out, "\"", key, "\" :");
    if (key == "id") {
      out += *value;  // the raw token
    } else {
      AppendJsonString(*value, &out);
    }
  }
  out += "}\r\n";
  return out;
}

}  // namespace
}  // namespace cli
}  // namespace arbiter

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace arbiter::cli;  // NOLINT
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  QueryLine q;
  QueryScratch scratch;
  const absl::Status status = ParseQueryLine(line, &q, &scratch);
  if (IsBlankLine(line)) FUZZ_CHECK(!status.ok(), "a blank line parsed");
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
               status.ToString());
    FUZZ_CHECK(absl::StartsWith(status.message(), "column ") ||
                   absl::StartsWith(status.message(), "missing "),
               status.ToString());
    return 0;
  }
  FUZZ_CHECK(
      !q.principal.empty() && !q.permission.empty() && !q.resource.empty(),
      "a required field is empty");
  const absl::string_view fields[] = {q.principal, q.permission, q.resource,
                                      q.org,       q.channel,    q.at};
  for (int i = 0; i < 6; ++i) {
    FUZZ_CHECK(fields[i].empty() || Within(fields[i], line) ||
                   Within(fields[i], scratch.strings[i]),
               "field ", i, " points outside the line and its buffer");
  }
  FUZZ_CHECK(q.id.empty() || Within(q.id, line),
             "id is not a slice of the line");

  const Fields parsed = Copy(q);
  const std::string again = Encode(parsed);
  QueryLine q2;
  QueryScratch scratch2;
  const absl::Status status2 = ParseQueryLine(again, &q2, &scratch2);
  FUZZ_CHECK(status2.ok(), "re-encoded line ", again,
             " does not parse: ", status2.ToString());
  FUZZ_CHECK(Copy(q2) == parsed, "re-encoded line ", again,
             " parses to other fields");
  return 0;
}
