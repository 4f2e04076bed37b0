// The process that durable_store_crash_test kills with SIGKILL. It opens the
// DurableStore in DIR (made by the test from RandomStoreState(STATE_SEED)),
// applies random transactions (TxnGenerator(RUN_SEED), so that the parent
// can replay the same run in memory), with background checkpoints every
// CHECKPOINT_EVERY transactions, and reports on stdout, one line each,
// unbuffered:
//   o <revision>   opened (recovered and verified) at this revision
//   a <revision>   Apply returned OK: the transaction of <revision> is
//                  acknowledged
//   e <message>    an unexpected error; exits 2
// until it is killed.
//
//   policy_store_crash_child DIR STATE_SEED RUN_SEED CHECKPOINT_EVERY [keep]

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/durable_store.h"
#include "tests/store/policy_test_util.h"

namespace {

void Report(const std::string& line) {
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
  uint64_t state_seed = 0, run_seed = 0, checkpoint_every = 0;
  if (argc < 5 || !absl::SimpleAtoi(argv[2], &state_seed) ||
      !absl::SimpleAtoi(argv[3], &run_seed) ||
      !absl::SimpleAtoi(argv[4], &checkpoint_every)) {
    std::fprintf(stderr,
                 "usage: %s DIR STATE_SEED RUN_SEED CHECKPOINT_EVERY [keep]\n",
                 argv[0]);
    return 1;
  }
  namespace t = arbiter::store::testing;
  const arbiter::testing::RandomPolicy policy = t::RandomStoreState(state_seed);
  arbiter::DurableStoreOptions options =
      t::StoreOptions(policy.options, checkpoint_every);
  options.keep_log_entries = argc > 5 && std::string(argv[5]) == "keep";
  auto opened = arbiter::DurableStore::Open(argv[1], options);
  if (!opened.ok()) Fail(opened.status().ToString());
  arbiter::DurableStore& store = **opened;
  Report(absl::StrCat("o ", store.revision()));
  t::TxnGenerator gen(run_seed);
  while (true) {
    const arbiter::v1::Transaction txn =
        gen.Next(store.StateCopy(), *store.engine());
    if (txn.mutations_size() == 0) continue;
    absl::StatusOr<arbiter::AppliedTransaction> applied = store.Apply(txn);
    if (applied.ok()) {
      Report(absl::StrCat("a ", applied->revision));
    } else if (arbiter::RefusalOf(applied.status()) ==
                   arbiter::Refusal::kUnavailable ||
               absl::IsInternal(applied.status())) {
      Fail(applied.status().ToString());
    }
  }
}
