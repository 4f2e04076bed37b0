// Concurrency (run under ThreadSanitizer, label `concurrency`): writer
// threads append while a checkpointer writes checkpoints (and compacts) and
// reader threads -- on the writer's DurableLog and on a read-only one --
// read the recovery view. Every entry a reader sees has exactly the bytes
// written for its revision, revisions are consecutive, a reader never sees
// less than was acknowledged before it started, every checkpoint read has
// its exact bytes, and after the run every acknowledged entry is there.
// Sizes: ARBITER_STORE_STRESS_ENTRIES (default 150) appends per writer.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using testing::LogContents;
using testing::PayloadFor;
using testing::RandomBytes;
using testing::ScratchDir;

constexpr uint64_t kSeed = 31;
constexpr int kWriters = 4;
constexpr int kReaders = 2;

std::string Payload(uint64_t r) { return PayloadFor(kSeed, r, 10, 700); }
std::string Image(uint64_t r) {
  return RandomBytes(kSeed ^ r, 20000 + r * 37 % 90000);
}

// One pass over the recovery view; returns the last revision it saw, or
// an error message. OutOfRange means a checkpoint compacted the entries
// between the two reads: the caller retries.
absl::StatusOr<uint64_t> ReadView(DurableLog& log) {
  absl::StatusOr<absl::optional<Checkpoint>> cp = log.LatestCheckpoint();
  if (!cp.ok()) return cp.status();
  uint64_t expected = 1;
  if (cp->has_value()) {
    if ((*cp)->payload != Image((*cp)->revision)) {
      return absl::InternalError(
          absl::StrCat("checkpoint ", (*cp)->revision, " has other bytes"));
    }
    expected = (*cp)->revision + 1;
  }
  absl::Status s = log.ReadEntries(expected - 1, [&](const LogEntry& e) {
    if (e.revision != expected) {
      return absl::InternalError(
          absl::StrCat("read revision ", e.revision, ", expected ", expected));
    }
    if (e.payload != Payload(e.revision)) {
      return absl::InternalError(
          absl::StrCat("entry ", e.revision, " has other bytes"));
    }
    ++expected;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return expected - 1;
}

TEST(DurableLogConcurrencyTest, WritersCheckpointerAndReaders) {
  const int64_t per_writer =
      testing::EnvInt("ARBITER_STORE_STRESS_ENTRIES", 150);
  ScratchDir dir("concurrency");
  DurableLogOptions o;
  o.checkpoint_chunk_bytes = 8192;
  o.wal_checkpoint_pages = 200;  // the background WAL checkpointer runs too
  auto opened = DurableLog::Open(dir.path(), o);
  ASSERT_THAT(opened, IsOk());
  std::unique_ptr<DurableLog> log = std::move(*opened);
  DurableLogOptions ro = o;
  ro.read_only = true;
  auto reader_log = DurableLog::Open(dir.path(), ro);
  ASSERT_THAT(reader_log, IsOk());

  std::mutex order;  // revision assignment (PolicyStore's lock)
  std::atomic<uint64_t> acknowledged{0};
  std::atomic<int> writers_running{kWriters};
  std::atomic<int> checkpoints{0}, views{0}, retries{0};
  std::mutex errors_mu;
  std::vector<std::string> errors;
  auto error = [&](std::string e) {
    std::lock_guard<std::mutex> l(errors_mu);
    errors.push_back(std::move(e));
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < per_writer; ++i) {
        std::unique_lock<std::mutex> l(order);
        const uint64_t rev = log->last_queued_revision() + 1;
        DurableLog::AppendHandle h = log->Enqueue({rev, Payload(rev)});
        l.unlock();
        absl::Status s = h.Wait();
        if (!s.ok()) {
          error(s.ToString());
          break;
        }
        uint64_t seen = acknowledged.load();
        while (seen < rev && !acknowledged.compare_exchange_weak(seen, rev)) {
        }
      }
      writers_running.fetch_sub(1);
    });
  }
  threads.emplace_back([&] {
    while (writers_running.load() > 0) {
      const uint64_t at = log->last_revision();
      absl::Status s = log->WriteCheckpoint({at, Image(at)});
      if (!s.ok()) {
        error("checkpoint: " + s.ToString());
        return;
      }
      checkpoints.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (int r = 0; r < kReaders; ++r) {
    DurableLog* target = r == 0 ? log.get() : reader_log->get();
    threads.emplace_back([&, target] {
      while (writers_running.load() > 0) {
        const uint64_t floor = acknowledged.load();
        absl::StatusOr<uint64_t> last = ReadView(*target);
        if (!last.ok()) {
          if (last.status().code() == absl::StatusCode::kOutOfRange) {
            retries.fetch_add(1);
            continue;
          }
          error("reader: " + last.status().ToString());
          return;
        }
        if (*last < floor) {
          error(absl::StrCat("reader saw revision ", *last, " after revision ",
                             floor, " was acknowledged"));
          return;
        }
        views.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) ADD_FAILURE() << e;
  const uint64_t total = static_cast<uint64_t>(kWriters * per_writer);
  EXPECT_EQ(acknowledged.load(), total);
  EXPECT_EQ(log->last_revision(), total);
  EXPECT_GT(checkpoints.load(), 0);
  EXPECT_GT(views.load(), 0);
  const DurableLogStats stats = log->stats();
  std::printf(
      "%llu entries in %llu group commits (largest %llu), %d "
      "checkpoints, %d reader views (%d retried after compaction)\n",
      static_cast<unsigned long long>(stats.entries_committed),
      static_cast<unsigned long long>(stats.group_commits),
      static_cast<unsigned long long>(stats.largest_group), checkpoints.load(),
      views.load(), retries.load());
  reader_log = absl::UnknownError("closed");
  log.reset();
  ASSERT_OK_AND_ASSIGN(LogContents c, testing::OpenAndRead(dir.path(), o));
  EXPECT_EQ(c.last_revision, total);
  for (const auto& e : c.entries) EXPECT_TRUE(e.second == Payload(e.first));
}

}  // namespace
}  // namespace store
}  // namespace arbiter
