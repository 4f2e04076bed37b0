// kill -9: a child process (store_crash_child) appends entries and writes
// checkpoints, reporting each acknowledgement through a pipe; this test
// kills it with SIGKILL at random moments (while it opens, appends, or is in
// the middle of a checkpoint or its compaction), reopens the store and
// checks after every kill:
//   - every acknowledged entry is present: the last revision is at least
//     the last acknowledged one, and the recovery view (latest checkpoint +
//     entries after it) is continuous up to it;
//   - no unacknowledged entry is partly present: every entry read back has
//     exactly the bytes the child would have written for its revision, and
//     the last revision is at most one per writer thread past the last
//     acknowledged one;
//   - the latest checkpoint is at or after the last acknowledged one, of a
//     revision <= the last, with exactly the expected bytes;
//   - Verify() passes.
// Sizes: ARBITER_STORE_KILLS (default 200) kills per run;
// ARBITER_STORE_KILL_SEED picks the run's seed (default fixed).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "tests/store/crash_payloads.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

#ifndef ARBITER_STORE_CRASH_CHILD
#error "ARBITER_STORE_CRASH_CHILD must name the store_crash_child binary"
#endif

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using testing::CrashCheckpointPayload;
using testing::CrashEntryPayload;
using testing::LogContents;
using testing::ScratchDir;

struct ChildRun {
  std::vector<std::string> lines;  // everything the child reported
  int wait_status = 0;
};

// Starts the child, lets it run, kills it. `kill_after_open` false: kills
// at a random moment from its start (maybe while it opens the store).
ChildRun RunAndKill(const std::string& dir, uint64_t seed, int threads,
                    bool kill_after_open, std::chrono::microseconds delay) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const std::string seed_arg = std::to_string(seed);
  const std::string threads_arg = std::to_string(threads);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(ARBITER_STORE_CRASH_CHILD, ARBITER_STORE_CRASH_CHILD, dir.c_str(),
            seed_arg.c_str(), threads_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildRun run;
  std::string buffer;
  auto read_some = [&]() -> bool {
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) return false;
    buffer.append(buf, static_cast<size_t>(n));
    return true;
  };
  if (kill_after_open) {
    // Wait for "o ..." (or an early error), then let it work.
    while (buffer.find('\n') == std::string::npos && read_some()) {
    }
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  while (read_some()) {
  }
  ::close(fds[0]);
  ::waitpid(pid, &run.wait_status, 0);
  for (absl::string_view line : absl::StrSplit(buffer, '\n')) {
    if (!line.empty()) run.lines.emplace_back(line);
  }
  return run;
}

TEST(DurableLogCrashTest, KillNineAtRandomMoments) {
  const int64_t kills = testing::EnvInt("ARBITER_STORE_KILLS", 200);
  const uint64_t seed =
      static_cast<uint64_t>(testing::EnvInt("ARBITER_STORE_KILL_SEED", 4242));
  SCOPED_TRACE(absl::StrCat("ARBITER_STORE_KILL_SEED=", seed));
  std::mt19937_64 rng(seed);
  ScratchDir dir("crash");
  const std::string store = dir.Sub("store");
  DurableLogOptions options;
  options.checkpoint_chunk_bytes = testing::kCrashChunkBytes;

  uint64_t verified_last = 0;  // the last revision after the previous kill
  uint64_t acked_checkpoint = 0;
  bool any_checkpoint_acked = false;
  int64_t acks = 0, checkpoint_acks = 0, killed_before_open = 0;
  for (int64_t k = 0; k < kills && !HasFailure(); ++k) {
    SCOPED_TRACE(absl::StrCat("kill ", k));
    const int threads = (k % 4 == 3) ? 4 : 1;
    const bool after_open = rng() % 10 != 0;
    const auto delay =
        std::chrono::microseconds(after_open ? rng() % 40000 : rng() % 15000);
    ChildRun run = RunAndKill(store, seed, threads, after_open, delay);
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) &&
                WTERMSIG(run.wait_status) == SIGKILL)
        << "the child exited by itself: "
        << (run.lines.empty() ? std::string("(no output)") : run.lines.back());

    uint64_t opened_at = 0;
    bool opened = false;
    uint64_t acked = 0;
    for (const std::string& line : run.lines) {
      ASSERT_GE(line.size(), 3u) << line;
      ASSERT_NE(line[0], 'e') << "the child failed: " << line;
      uint64_t value = 0;
      ASSERT_TRUE(absl::SimpleAtoi(line.substr(2), &value)) << line;
      switch (line[0]) {
        case 'o':
          opened = true;
          opened_at = value;
          break;
        case 'a':
          acked = std::max(acked, value);
          ++acks;
          break;
        case 'c':
          acked_checkpoint = std::max(acked_checkpoint, value);
          any_checkpoint_acked = true;
          ++checkpoint_acks;
          break;
        default:
          FAIL() << "unexpected line: " << line;
      }
    }
    if (!opened) ++killed_before_open;
    if (opened) {
      ASSERT_EQ(opened_at, verified_last)
          << "the child opened at another revision than the parent saw";
    }

    // Reopen (writable: also the cleanup of an interrupted checkpoint).
    absl::StatusOr<std::unique_ptr<DurableLog>> log =
        DurableLog::Open(store, options);
    ASSERT_THAT(log, IsOk());
    ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(**log));
    const uint64_t last = (*log)->last_revision();
    const uint64_t lower = std::max(verified_last, acked);
    ASSERT_GE(last, lower) << "an acknowledged entry is missing";
    ASSERT_LE(last, lower + static_cast<uint64_t>(threads))
        << "more entries than acknowledged + in flight";
    ASSERT_EQ(c.last_revision, last);
    for (const auto& e : c.entries) {
      ASSERT_EQ(e.second, CrashEntryPayload(seed, e.first))
          << "entry " << e.first << " differs from what was written";
    }
    if (any_checkpoint_acked) {
      ASSERT_TRUE(c.checkpoint.has_value())
          << "an acknowledged checkpoint " << acked_checkpoint << " is gone";
      ASSERT_GE(c.checkpoint->revision, acked_checkpoint);
    }
    if (c.checkpoint.has_value()) {
      ASSERT_LE(c.checkpoint->revision, last);
      ASSERT_EQ(c.checkpoint->payload,
                CrashCheckpointPayload(seed, c.checkpoint->revision))
          << "checkpoint " << c.checkpoint->revision << " differs";
    }
    ASSERT_THAT((*log)->Verify(), IsOk());
    verified_last = last;
  }
  std::printf(
      "kill -9: %lld kills (%lld before the store opened), %lld acknowledged "
      "appends, %lld acknowledged checkpoints, final revision %llu\n",
      static_cast<long long>(kills), static_cast<long long>(killed_before_open),
      static_cast<long long>(acks), static_cast<long long>(checkpoint_acks),
      static_cast<unsigned long long>(verified_last));
  // About 10 per kill on an idle machine, 3 on a loaded one.
  EXPECT_GE(acks, kills / 2) << "the children hardly appended: the test is "
                                "not exercising anything";
  EXPECT_GT(checkpoint_acks, 0);
}

}  // namespace
}  // namespace store
}  // namespace arbiter
