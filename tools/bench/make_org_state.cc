// Writes a generated organization (tests/testing/workload.h; size M is the
// "org-scale" state: 10 clouds, 1,000 projects, 10,000 workloads, 10,000
// users, ~62,000 grants) and a JSON Lines query stream against it, for
// measuring and testing `arbiter check --queries`:
//
//   ./build/tools/arbiter_make_org_state --size M --queries 1000000 --out
//   /tmp/org
//   ./build/tools/arbiter check /tmp/org/org.binpb
//       --queries /tmp/org/queries.jsonl --stats > /dev/null
//
// Files written in --out:
//   org.binpb (or .textproto / .json with --format)   the state
//   queries.jsonl   {"id":N,"principal":...,"permission":...,"resource":...,
//                    "at":"2026-01-01T00:00:00Z"}; half name principals and
//                   resources by id, half by email and cloud/project path
//   expected.jsonl  {"id":N,"reason":"GRANT"}: the generator's own prediction
//                   (its model of docs/semantics.md), line for line

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/decision.h"
#include "arbiter/policy_io.h"
#include "tests/testing/workload.h"
#include "tools/cli_options.h"
#include "tools/query_line.h"

namespace {

using arbiter::testing::Query;

bool WriteFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  return std::fclose(f) == 0 && ok;
}

int Usage() {
  std::fprintf(stderr,
               "usage: arbiter_make_org_state [--size S|M|L|XL] [--queries N] "
               "[--out DIR] [--format binary|text|json] [--seed N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  arbiter::testing::WorkloadSize size = arbiter::testing::WorkloadSize::kM;
  size_t num_queries = 1000000;
  uint64_t seed = 1;
  std::string out = ".";
  std::string format = "binary";
  if (argc % 2 == 0) return Usage();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--size") {
      if (!arbiter::testing::ParseWorkloadSize(value, &size)) return Usage();
    } else if (flag == "--queries") {
      if (!absl::SimpleAtoi(value, &num_queries)) return Usage();
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &seed)) return Usage();
    } else if (flag == "--out") {
      out = value;
    } else if (flag == "--format") {
      format = value;
    } else {
      return Usage();
    }
  }
  absl::StatusOr<arbiter::PolicyFormat> f = arbiter::ParsePolicyFormat(format);
  if (!f.ok() || *f == arbiter::PolicyFormat::kAuto) return Usage();

  const arbiter::testing::WorkloadSpec spec = arbiter::testing::SpecFor(size);
  std::string why;
  if (!arbiter::testing::WorkloadFits(spec, &why)) {
    std::fprintf(stderr, "arbiter_make_org_state: %s\n", why.c_str());
    return 1;
  }
  const arbiter::testing::Workload workload =
      arbiter::testing::GenerateWorkload(spec);
  absl::StatusOr<std::string> data =
      arbiter::SerializePolicySet(workload.policy, *f);
  const std::string ext = *f == arbiter::PolicyFormat::kJson   ? "json"
                          : *f == arbiter::PolicyFormat::kText ? "textproto"
                                                               : "binpb";
  const std::string state_path = absl::StrCat(out, "/org.", ext);
  if (!data.ok() || !WriteFile(state_path, *data)) {
    std::fprintf(stderr, "arbiter_make_org_state: cannot write %s\n",
                 state_path.c_str());
    return 1;
  }

  const std::string at =
      arbiter::cli::FormatRfc3339(arbiter::testing::WorkloadNow());
  const std::string queries_path = absl::StrCat(out, "/queries.jsonl");
  const std::string expected_path = absl::StrCat(out, "/expected.jsonl");
  FILE* queries = std::fopen(queries_path.c_str(), "wb");
  FILE* expected = std::fopen(expected_path.c_str(), "wb");
  if (queries == nullptr || expected == nullptr) {
    std::fprintf(stderr, "arbiter_make_org_state: cannot write in %s\n",
                 out.c_str());
    return 1;
  }
  // Draw in batches so that memory stays small for any --queries.
  constexpr size_t kBatch = 65536;
  std::string q, e;
  bool ok = true;
  for (size_t done = 0, batch = 0; done < num_queries && ok; ++batch) {
    const size_t n = std::min(kBatch, num_queries - done);
    const std::vector<Query> drawn =
        arbiter::testing::MakeMixedQueries(workload, n, seed + batch);
    q.clear();
    e.clear();
    for (const Query& query : drawn) {
      const bool by_name = done % 2 == 1;
      absl::StrAppend(&q, "{\"id\":", done, ",\"principal\":");
      arbiter::cli::AppendJsonString(
          by_name ? query.principal_email : query.principal_id, &q);
      q.append(",\"permission\":");
      arbiter::cli::AppendJsonString(query.permission, &q);
      q.append(",\"resource\":");
      arbiter::cli::AppendJsonString(
          by_name ? query.resource_path : query.resource_id, &q);
      absl::StrAppend(&q, ",\"at\":\"", at, "\"}\n");
      absl::StrAppend(&e, "{\"id\":", done, ",\"reason\":\"",
                      arbiter::ReasonName(query.expected_reason), "\"}\n");
      ++done;
    }
    ok = std::fwrite(q.data(), 1, q.size(), queries) == q.size() &&
         std::fwrite(e.data(), 1, e.size(), expected) == e.size();
    if (drawn.empty()) break;
  }
  ok = (std::fclose(queries) == 0) && ok;
  ok = (std::fclose(expected) == 0) && ok;
  if (!ok) {
    std::fprintf(stderr, "arbiter_make_org_state: write failed in %s\n",
                 out.c_str());
    return 1;
  }
  std::printf(
      "%s: size %s, %d principals, %d projects, %d workloads, %d "
      "grants (%zu bytes)\n%s: %zu queries\n",
      state_path.c_str(), spec.name.c_str(), workload.policy.principals_size(),
      workload.policy.projects_size(), workload.policy.workloads_size(),
      workload.policy.grants_size(), data->size(), queries_path.c_str(),
      num_queries);
  return 0;
}
