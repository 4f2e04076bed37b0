// kill -9 of a DurableStore writer: a child process (policy_store_crash_child)
// applies random admin transactions to a store, with background checkpoints
// every few transactions, and reports each acknowledgement through a pipe;
// this test kills it with SIGKILL at random moments (while it recovers,
// applies, checkpoints or compacts), reopens the store and checks after
// every kill:
//   - every acknowledged transaction is present: the revision is at least
//     the last acknowledged one;
//   - no unacknowledged one is partly present, and the revision is the last
//     acknowledged or one later: the recovered state is byte for byte the
//     state an in-memory PolicyStore reaches by applying the child's
//     transactions (the same generator and seed) up to that revision;
//   - the audit chain verifies and everything on disk verifies
//     (DurableStore::Verify: hashes, replay, integrity);
//   - Check on the recovered store equals a full compile of the expected
//     state on random queries.
// Sizes: ARBITER_STORE_POLICY_KILLS (default 200) kills per run,
// ARBITER_STORE_POLICY_KILL_SEED the run's seed (default fixed).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/store/policy_test_util.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

#ifndef ARBITER_POLICY_STORE_CRASH_CHILD
#error "ARBITER_POLICY_STORE_CRASH_CHILD must name policy_store_crash_child"
#endif

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using testing::ScratchDir;

struct ChildRun {
  std::vector<std::string> lines;
  int wait_status = 0;
};

ChildRun RunAndKill(const std::vector<std::string>& args, bool after_open,
                    std::chrono::microseconds delay) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(ARBITER_POLICY_STORE_CRASH_CHILD));
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(ARBITER_POLICY_STORE_CRASH_CHILD, argv.data());
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
  if (after_open) {
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

// The state an in-memory store reaches from `from` by applying the child's
// transactions (TxnGenerator(run_seed)) until revision `to`.
absl::StatusOr<v1::PolicySet> Replay(const v1::PolicySet& from, uint64_t to,
                                     uint64_t run_seed,
                                     const EngineOptions& engine) {
  if (from.revision() == to) return from;
  PolicyStoreOptions options;
  options.engine = engine;
  options.clock = engine.clock;
  absl::StatusOr<std::unique_ptr<PolicyStore>> model =
      PolicyStore::Create(from, options);
  if (!model.ok()) return model.status();
  testing::TxnGenerator gen(run_seed);
  for (int tries = 0; (*model)->revision() < to; ++tries) {
    if (tries > 100000) {
      return absl::InternalError("the replay does not reach the revision");
    }
    const v1::Transaction txn =
        gen.Next((*model)->StateCopy(), *(*model)->engine());
    if (txn.mutations_size() == 0) continue;
    (void)(*model)->Apply(txn);  // refusals are the child's refusals too
  }
  return (*model)->StateCopy();
}

TEST(DurableStoreCrashTest, KillNineWhileApplyingAndCheckpointing) {
  const int64_t kills = testing::EnvInt("ARBITER_STORE_POLICY_KILLS", 200);
  const uint64_t seed = static_cast<uint64_t>(
      testing::EnvInt("ARBITER_STORE_POLICY_KILL_SEED", 1717));
  SCOPED_TRACE(absl::StrCat("ARBITER_STORE_POLICY_KILL_SEED=", seed));
  std::mt19937_64 rng(seed);
  const ::arbiter::testing::RandomPolicy policy =
      testing::RandomStoreState(seed);
  const DurableStoreOptions options = testing::StoreOptions(policy.options, 0);
  ScratchDir dir("policy_crash");
  const std::string path = dir.Sub("store");
  {
    auto created = DurableStore::Create(path, policy.state, options);
    ASSERT_THAT(created, IsOk());
  }
  v1::PolicySet expected = policy.state;  // verified after the last kill
  int64_t acks = 0, before_open = 0, one_later = 0;
  uint64_t checkpoints = 0;
  for (int64_t k = 0; k < kills && !HasFailure(); ++k) {
    SCOPED_TRACE(absl::StrCat("kill ", k));
    const uint64_t run_seed = ::arbiter::testing::MixSeed(seed, k);
    const bool after_open = rng() % 8 != 0;
    const auto delay =
        std::chrono::microseconds(after_open ? rng() % 120000 : rng() % 30000);
    std::vector<std::string> args = {path, std::to_string(seed),
                                     std::to_string(run_seed),
                                     std::to_string(2 + rng() % 6)};
    if (k % 5 == 4) args.push_back("keep");
    ChildRun run = RunAndKill(args, after_open, delay);
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) &&
                WTERMSIG(run.wait_status) == SIGKILL)
        << "the child exited by itself: "
        << (run.lines.empty() ? std::string("(no output)") : run.lines.back());
    bool opened = false;
    uint64_t acked = 0;
    for (const std::string& line : run.lines) {
      ASSERT_GE(line.size(), 3u) << line;
      ASSERT_NE(line[0], 'e') << "the child failed: " << line;
      uint64_t value = 0;
      ASSERT_TRUE(absl::SimpleAtoi(line.substr(2), &value)) << line;
      if (line[0] == 'o') {
        opened = true;
        ASSERT_EQ(value, expected.revision())
            << "the child opened at another revision than the parent saw";
      } else if (line[0] == 'a') {
        acked = std::max(acked, value);
        ++acks;
      } else {
        FAIL() << "unexpected line: " << line;
      }
    }
    if (!opened) ++before_open;

    absl::StatusOr<std::unique_ptr<DurableStore>> store =
        DurableStore::Open(path, options);
    ASSERT_THAT(store, IsOk());
    const uint64_t revision = (*store)->revision();
    const uint64_t lower = std::max(expected.revision(), acked);
    ASSERT_GE(revision, lower) << "an acknowledged transaction is missing";
    ASSERT_LE(revision, lower + 1)
        << "more transactions than acknowledged + the one in flight";
    one_later += revision == lower + 1;
    absl::StatusOr<v1::PolicySet> model =
        Replay(expected, revision, run_seed, policy.options);
    ASSERT_THAT(model, IsOk());
    const v1::PolicySet recovered = (*store)->StateCopy();
    ASSERT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(recovered, *model))
        << "the recovered state at revision " << revision
        << " is not the state the acknowledged transactions make";
    const std::string diff = testing::CompareWithFullCompile(
        *(*store)->engine(), *model, policy.options,
        ::arbiter::testing::MixSeed(run_seed, 1), 150);
    ASSERT_EQ(diff, "");
    ASSERT_THAT((*store)->Verify(), IsOk());
    checkpoints = std::max(checkpoints, (*store)->stats().checkpoint_revision);
    expected = *std::move(model);
  }
  std::printf(
      "kill -9: %lld kills (%lld before the store opened), %lld "
      "acknowledged transactions, %lld reopened one past the last "
      "acknowledged, final revision %llu, last checkpoint at %llu\n",
      static_cast<long long>(kills), static_cast<long long>(before_open),
      static_cast<long long>(acks), static_cast<long long>(one_later),
      static_cast<unsigned long long>(expected.revision()),
      static_cast<unsigned long long>(checkpoints));
  EXPECT_GE(acks, kills) << "the children hardly applied anything: the test "
                            "is not exercising the store";
  EXPECT_GT(checkpoints, 1u) << "no background checkpoint was ever written";
}

}  // namespace
}  // namespace store
}  // namespace arbiter
