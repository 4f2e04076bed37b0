// The process that durable_log_crash_test kills with SIGKILL. It opens the
// store in DIR, appends entries whose payloads are a pure function of
// (seed, revision) -- so the parent knows the exact bytes of any revision --
// and writes checkpoints (payload a function of (seed, revision) too), and
// reports on stdout, one line each, unbuffered:
//   o <last_revision>     opened (and verified) at this revision
//   a <revision>          Append of <revision> returned OK (acknowledged)
//   c <revision>          WriteCheckpoint at <revision> returned OK
//   e <message>           an error; exits 2
// until it is killed (or has appended --max entries).
//
//   store_crash_child DIR SEED THREADS [sync=full|normal] [max=N]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/store/durable_log.h"
#include "tests/store/crash_payloads.h"

namespace {

using arbiter::store::Checkpoint;
using arbiter::store::DurableLog;
using arbiter::store::DurableLogOptions;
using arbiter::store::SyncMode;

std::mutex report_mu;

void Report(const std::string& line) {
  std::lock_guard<std::mutex> l(report_mu);
  std::string out = line + "\n";
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n <= 0) std::_Exit(3);  // the parent is gone
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Fail(const std::string& message) {
  Report("e " + message);
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR SEED THREADS [sync=...] [max=N]\n",
                 argv[0]);
    return 1;
  }
  const std::string dir = argv[1];
  uint64_t seed = 0;
  int threads = 1;
  if (!absl::SimpleAtoi(argv[2], &seed) ||
      !absl::SimpleAtoi(argv[3], &threads)) {
    return 1;
  }
  DurableLogOptions options;
  options.checkpoint_chunk_bytes = arbiter::store::testing::kCrashChunkBytes;
  int64_t max_entries = -1;
  for (int i = 4; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "sync=normal") options.sync = SyncMode::kNormal;
    if (absl::StartsWith(arg, "max=")) {
      (void)absl::SimpleAtoi(arg.substr(4), &max_entries);
    }
  }
  auto opened = DurableLog::Open(dir, options);
  if (!opened.ok()) Fail(opened.status().ToString());
  std::unique_ptr<DurableLog> log = std::move(*opened);
  Report(absl::StrCat("o ", log->last_revision()));

  std::mutex order;  // revision assignment, as PolicyStore does it
  std::atomic<int64_t> appended{0};
  auto writer = [&](int id) {
    std::mt19937_64 rng(seed ^ (static_cast<uint64_t>(::getpid()) << 8) ^
                        static_cast<uint64_t>(id));
    while (max_entries < 0 || appended.fetch_add(1) < max_entries) {
      std::unique_lock<std::mutex> l(order);
      const uint64_t rev = log->last_queued_revision() + 1;
      DurableLog::AppendHandle h = log->Enqueue(
          {rev, arbiter::store::testing::CrashEntryPayload(seed, rev)});
      l.unlock();
      absl::Status s = h.Wait();
      if (!s.ok()) Fail(s.ToString());
      Report(absl::StrCat("a ", rev));
      // Single-threaded runs checkpoint inline now and then.
      if (threads == 1 && rng() % 8 == 0) {
        const uint64_t at = log->last_revision();
        s = log->WriteCheckpoint(
            {at, arbiter::store::testing::CrashCheckpointPayload(seed, at)});
        if (!s.ok()) Fail(s.ToString());
        Report(absl::StrCat("c ", at));
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(writer, t);
  if (threads > 1) {
    // A checkpointer beside the writers.
    std::mt19937_64 rng(seed ^ static_cast<uint64_t>(::getpid()));
    while (max_entries < 0 || appended.load() < max_entries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 10));
      const uint64_t at = log->last_revision();
      absl::Status s = log->WriteCheckpoint(
          {at, arbiter::store::testing::CrashCheckpointPayload(seed, at)});
      if (!s.ok()) Fail(s.ToString());
      Report(absl::StrCat("c ", at));
    }
  }
  for (auto& t : pool) t.join();
  return 0;
}
