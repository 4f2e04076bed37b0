// A replica process for replicated_store_test.cc: a ReplicatedStore in its
// own process, so that the test can kill -9 it at any moment and start it
// again. Dies with its parent (PR_SET_PDEATHSIG).
//
//   replicated_store_child ENDPOINTS PREFIX write WRITER SEED COUNT
//       applies COUNT transactions RandomDemoTransaction(Rng(SEED), WRITER,
//       n), n = 0..COUNT-1, printing one line per outcome as soon as it is
//       known:  "ack <revision> <tag>"  or  "fail <tag> <code>";
//       then "done".
//   replicated_store_child ENDPOINTS PREFIX digest REVISION
//       waits (20 s) until the replica has published REVISION, then prints
//       "digest <revision> <hex>" and the replica's audit tags,
//       "tags <revision> <tag>" per revision.
//
// ENDPOINTS is comma-separated. Exit status 0, or 1 with the error on
// stderr.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "arbiter/replicated_store.h"
#include "tests/replication/replica_workload.h"

namespace {

void Line(const std::string& text) {
  const std::string line = text + "\n";
  // Unbuffered: a line is out before the next Apply, whatever kills us.
  (void)!write(1, line.data(), line.size());
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "replicated_store_child: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;  // the parent is gone already
  if (argc < 4) return Fail("usage: ENDPOINTS PREFIX write|digest ...");
  arbiter::ReplicatedStoreOptions options;
  options.endpoints = absl::StrSplit(argv[1], ',');
  options.prefix = argv[2];
  options.store.audit.checkpoint_interval = 5;
  options.checkpoint_interval = 25;
  options.keep_entries = 10;
  const std::string mode = argv[3];
  absl::StatusOr<std::unique_ptr<arbiter::ReplicatedStore>> replica =
      arbiter::ReplicatedStore::Open(options);
  if (!replica.ok()) return Fail(replica.status().ToString());

  if (mode == "write" && argc == 7) {
    int writer = 0, count = 0;
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(argv[4], &writer) ||
        !absl::SimpleAtoi(argv[5], &seed) ||
        !absl::SimpleAtoi(argv[6], &count)) {
      return Fail("write WRITER SEED COUNT: numbers expected");
    }
    arbiter::testing::Rng rng(seed);
    for (int n = 0; n < count; ++n) {
      const arbiter::v1::Transaction txn =
          arbiter::testing::RandomDemoTransaction(rng, writer, n);
      absl::StatusOr<arbiter::ReplicatedWrite> w = (*replica)->Apply(txn);
      if (w.ok()) {
        Line(absl::StrCat("ack ", w->revision, " ",
                          arbiter::testing::TagOf(writer, n)));
      } else {
        Line(absl::StrCat("fail ", arbiter::testing::TagOf(writer, n), " ",
                          absl::StatusCodeToString(w.status().code())));
      }
    }
    Line("done");
    return 0;
  }
  if (mode == "digest" && argc == 5) {
    uint64_t revision = 0;
    if (!absl::SimpleAtoi(argv[4], &revision)) {
      return Fail("digest REVISION: a number expected");
    }
    absl::Status reached =
        (*replica)->WaitFor(revision, absl::Now() + absl::Seconds(20));
    if (!reached.ok()) return Fail(reached.ToString());
    Line(absl::StrCat("digest ", (*replica)->revision(), " ",
                      (*replica)->StateDigest()));
    for (const auto& [rev, tags] :
         arbiter::testing::TagsByRevision((*replica)->AuditRecords())) {
      for (const std::string& tag : tags) {
        Line(absl::StrCat("tags ", rev, " ", tag));
      }
    }
    Line("done");
    return 0;
  }
  return Fail("usage: ENDPOINTS PREFIX write WRITER SEED COUNT | digest REV");
}
