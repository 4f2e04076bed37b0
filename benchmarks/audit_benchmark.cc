// The audit log: what recording a mutation costs, and how fast a log
// verifies.
//
//   BM_AuditHash                   canonical bytes + SHA-256 of one typical
//                                  record (the chain's floor)
//   BM_AuditAppend/batch:B/retain:R
//                                  AuditLog::Append of B records moved in
//                                  (validate, timestamp, chain, keep a copy
//                                  when R=1, return them); items = records
//   BM_AuditAppendSigned/...       the same with a signed checkpoint every
//                                  1,000 records (Ed25519 amortized)
//   BM_AuditSign                   one Ed25519 checkpoint signature
//   BM_AuditVerifyChain/<n>        VerifyAuditChain over n records in
//                                  memory (a store opening); items = records
//   BM_AuditToJson                 one record to its JSON line
//   BM_AuditVerifyExport/<n>       VerifyAuditExport of a signed export of
//                                  n records on disk (list, read, strict
//                                  JSON, chain, signatures); items = records
//   BM_SamplerRecord/<one_in>      DeniedCheckSampler::Record of a denied
//                                  check, sampled 1 in <one_in>, ring drained
//                                  outside the timing
//
// Run (figures in docs/audit.md):
//   ./build/benchmarks/audit_benchmark --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/audit.h"
#include "benchmark/benchmark.h"
#include "src/audit/format.h"

namespace arbiter {
namespace {

// A typical admin record (§9's MODIFY of a user's role).
v1::AuditRecord Typical(int i) {
  return NewAuditRecord(
      AuditActor{"usr_alice", "Alice", "alice@acme.com", "10.0.0.7"},
      AuditEvent{"org_123", audit_action::kModify, audit_entity::kUser,
                 absl::StrCat("usr_", i), static_cast<uint64_t>(1000 + i)},
      {{"modifee_id", absl::StrCat("usr_", i)},
       {"old_role", "collaborator"},
       {"new_role", "owner"}});
}

void BM_AuditHash(benchmark::State& state) {
  v1::AuditRecord r = Typical(1);
  r.set_timestamp("2023-08-01 01:04:05.073682+00:00");
  r.set_sequence(7);
  const std::string prev(32, '\x11');
  for (auto _ : state) {
    std::string h = internal::ComputeAuditHash(prev, r);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditHash);

void RunAppend(benchmark::State& state,
               std::shared_ptr<const AuditSigningKey> key) {
  const int batch_size = static_cast<int>(state.range(0));
  AuditLogOptions options;
  options.checkpoint_interval = key != nullptr ? 1000 : 0;
  options.signing_key = key;
  options.retain_records = state.range(1) != 0;
  auto log = *AuditLog::Create(options);
  // Batches are built outside the timing and moved in, as the admin layer
  // does: only the log's own work is measured.
  std::vector<std::vector<v1::AuditRecord>> pool;
  int64_t appended = 0;
  for (auto _ : state) {
    if (pool.empty()) {
      state.PauseTiming();
      if (appended >= 200000) {  // keep memory bounded
        log = *AuditLog::Create(options);
        appended = 0;
      }
      for (int b = 0; b < 64; ++b) {
        std::vector<v1::AuditRecord> batch;
        for (int i = 0; i < batch_size; ++i) batch.push_back(Typical(i));
        pool.push_back(std::move(batch));
      }
      state.ResumeTiming();
    }
    auto out = log->Append(std::move(pool.back()));
    pool.pop_back();
    benchmark::DoNotOptimize(out);
    appended += batch_size;
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}

void BM_AuditAppend(benchmark::State& state) { RunAppend(state, nullptr); }
BENCHMARK(BM_AuditAppend)
    ->ArgNames({"batch", "retain"})
    ->Args({1, 1})
    ->Args({100, 1})
    ->Args({1000, 1})
    ->Args({100, 0});

void BM_AuditAppendSigned(benchmark::State& state) {
  RunAppend(state, *AuditSigningKey::Generate());
}
BENCHMARK(BM_AuditAppendSigned)->ArgNames({"batch", "retain"})->Args({100, 1});

void BM_AuditSign(benchmark::State& state) {
  auto key = *AuditSigningKey::Generate();
  const std::string message(70, 'm');
  for (auto _ : state) {
    auto sig = key->Sign(message);
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_AuditSign);

std::vector<v1::AuditRecord> MakeLog(int n, AuditLog* log) {
  std::vector<v1::AuditRecord> all;
  std::vector<v1::AuditRecord> batch;
  for (int i = 0; i < n; ++i) {
    batch.push_back(Typical(i));
    if (batch.size() == 100 || i == n - 1) {
      auto out = *log->Append(std::move(batch));
      all.insert(all.end(), out.begin(), out.end());
      batch.clear();
    }
  }
  return all;
}

void BM_AuditVerifyChain(benchmark::State& state) {
  auto key = *AuditSigningKey::Generate();
  AuditLogOptions options;
  options.signing_key = key;
  auto log = *AuditLog::Create(options);
  const std::vector<v1::AuditRecord> records =
      MakeLog(static_cast<int>(state.range(0)), log.get());
  AuditVerifyOptions verify;
  verify.public_keys = {key->public_key()};
  for (auto _ : state) {
    AuditVerification v = VerifyAuditChain(records, verify);
    if (!v.ok()) state.SkipWithError("chain broken");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * records.size());
}
BENCHMARK(BM_AuditVerifyChain)->Arg(1000)->Arg(100000);

void BM_AuditToJson(benchmark::State& state) {
  auto log = *AuditLog::Create();
  const v1::AuditRecord r = (*log->Append({Typical(1)}))[0];
  for (auto _ : state) {
    std::string line = AuditRecordToJson(r);
    benchmark::DoNotOptimize(line);
  }
  state.SetBytesProcessed(state.iterations() * AuditRecordToJson(r).size());
}
BENCHMARK(BM_AuditToJson);

void BM_AuditVerifyExport(benchmark::State& state) {
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       absl::StrCat("arbiter_audit_bench_", getpid(), "_", state.range(0)))
          .string();
  std::filesystem::remove_all(dir);
  auto key = *AuditSigningKey::Generate();
  AuditLogOptions options;
  options.signing_key = key;
  auto log = *AuditLog::Create(options);
  const int n = static_cast<int>(state.range(0));
  MakeLog(n, log.get());
  if (!log->Export(dir).ok()) state.SkipWithError("export failed");
  AuditVerifyOptions verify;
  verify.public_keys = {key->public_key()};
  uint64_t records = 0;
  for (auto _ : state) {
    auto v = VerifyAuditExport(dir, verify);
    if (!v.ok() || !v->ok()) state.SkipWithError("verification failed");
    records = v->records;
  }
  state.SetItemsProcessed(state.iterations() * records);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuditVerifyExport)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);

void BM_SamplerRecord(benchmark::State& state) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = static_cast<uint32_t>(state.range(0));
  options.capacity = 1 << 16;
  auto sampler = *DeniedCheckSampler::Create(options);
  AccessRequest request{"bob@acme.com", "project.workload.create",
                        "prod/ml-prod"};
  Decision deny;
  deny.reason = Reason::kNoProjectGrant;
  int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sampler->Record("org_123", request, deny));
    if (++n % 32768 == 0) {
      state.PauseTiming();
      sampler->Drain();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SamplerRecord)->Arg(1)->Arg(100);

}  // namespace
}  // namespace arbiter

BENCHMARK_MAIN();
