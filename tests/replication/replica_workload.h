// File: tests/replication/replica_workload.h
//
// What the ReplicatedStore tests (replicated_store_test.cc) and their replica
// process (replicated_store_child.cc) write and ask: random admin
// transactions on the demo organization (arbiter/demo.h), each tagged so
// that the revision it committed as can be found again in the audit chain,
// and a fixed set of queries whose answers the replicas must agree on.
//
// Tags. Transaction n of writer w carries metadata.source_ip = TagOf(w, n)
// ("10.w.hi.lo"), which every audit record of its revision repeats; so from
// any replica's audit chain, TagsByRevision tells which transaction each
// revision is, and a transaction committed twice (or lost) shows.

#ifndef ARBITER_TESTS_REPLICATION_REPLICA_WORKLOAD_H_
#define ARBITER_TESTS_REPLICATION_REPLICA_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arbiter/request.h"
#include "arbiter/v1/audit.pb.h"
#include "arbiter/v1/mutation.pb.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace testing {

// "10.<writer>.<n / 250>.<n % 250 + 1>"; writer < 256, n < 64,000.
std::string TagOf(int writer, int n);

// A random transaction by alice@acme.com (the demo's org owner): 1-3
// project and cloud membership changes among the demo's users. Some are
// refused (NO_CLOUD_GRANT, READ_ONLY_CAP...): that is part of the test.
// Tagged TagOf(writer, n); its metadata.time is fixed by (writer, n), so
// that a reference store replaying it writes the same audit records.
v1::Transaction RandomDemoTransaction(Rng& rng, int writer, int n);

// The tags of the records of each revision (a revision's records all carry
// its transaction's tag; checkpoint records carry none).
std::map<uint64_t, std::vector<std::string>> TagsByRevision(
    const std::vector<v1::AuditRecord>& chain);

struct DemoQuery {
  std::string principal, permission, resource;
  AccessRequest ToRequest() const;
};
// Every demo user x a few permissions x the demo's clouds and projects.
std::vector<DemoQuery> DemoQueries();

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_REPLICATION_REPLICA_WORKLOAD_H_
