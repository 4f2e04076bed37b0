// The lookups of arbiter/lookup.h on resolved indices: the walks that find
// the answers (resources.cc, subjects.cc), the report (report.cc) and the
// diff (diff.cc). The facade (lookup.cc) resolves names, pins the instant,
// pages and encodes cursors around them.

#ifndef ARBITER_SRC_QUERY_LOOKUPS_H_
#define ARBITER_SRC_QUERY_LOOKUPS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "arbiter/lookup.h"
#include "arbiter/request.h"
#include "google/protobuf/timestamp.pb.h"
#include "src/query/query_index.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {

// Reaches a Lookup's snapshot and index from src/query.
struct LookupFriend {
  static const internal::Snapshot& State(const Lookup& l) {
    return *l.snapshot_;
  }
  static const internal::QueryIndex& Index(const Lookup& l) {
    return *l.index_;
  }
  static PermissionSet MakeSet(const internal::Snapshot& s) {
    PermissionSet set;
    set.bits_.assign(s.perm_words, 0);
    set.snapshot_ = &s;
    return set;
  }
  static uint64_t* Bits(PermissionSet* set) { return set->bits_.data(); }
};

namespace internal {

struct ResourcesQuery {
  uint32_t principal = 0;
  uint32_t permission = 0;
  NodeKind kind = NodeKind::kWorkload;
  uint32_t within = 0;     // an org, cloud or project node
  RequestContext context;  // `now` set
  uint64_t revision = 0;
  size_t limit = 0;  // stop after this many results
  bool resume = false;
  uint32_t after = 0;  // the node last returned (resume)
};

// Appends to `out` (and the node indices to `nodes`) the resources Check
// allows, in tree order, after q.after when resuming, at most q.limit.
void FindResources(const QueryIndex& ix, const ResourcesQuery& q,
                   std::vector<ResourceMatch>* out,
                   std::vector<uint32_t>* nodes);

struct SubjectsQuery {
  uint32_t permission = 0;
  uint32_t resource = 0;
  PrincipalFilter filter = PrincipalFilter::kAll;
  RequestContext context;  // `now` set
  uint64_t revision = 0;
  size_t limit = 0;
  bool resume = false;
  uint32_t after_rank = 0;  // the rank of the principal last returned
};

// Appends to `out` (and the principal indices to `principals`) the
// principals Check allows, by rank, at most q.limit.
void FindSubjects(const QueryIndex& ix, const SubjectsQuery& q,
                  std::vector<SubjectMatch>* out,
                  std::vector<uint32_t>* principals);

// Sets `t` to an instant given in Unix nanoseconds.
void SetTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* t);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_QUERY_LOOKUPS_H_
