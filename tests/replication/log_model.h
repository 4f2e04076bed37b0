// File: tests/replication/log_model.h
//
// The reference model of the replicated-log tests: the state after revision
// r is simply the list of the payloads of revisions 1..r. A checkpoint image
// is that list, encoded (EncodeState); a follower's state is its last
// checkpoint or reset image, decoded, plus every entry delivered after it.
// Obviously correct, so followers are compared with it and with each other.
//
// FollowerRecorder implements EtcdFollower's callbacks over that model and
// checks, as entries arrive, that each is the next revision (no gap, no
// duplicate). Thread-safe: the follower's thread records, the test reads.

#ifndef ARBITER_TESTS_REPLICATION_LOG_MODEL_H_
#define ARBITER_TESTS_REPLICATION_LOG_MODEL_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/replication/etcd_follower.h"
#include "src/replication/etcd_log.h"

namespace arbiter {
namespace testing {

// Length-prefixed concatenation of the payloads.
std::string EncodeState(const std::vector<std::string>& payloads);
absl::StatusOr<std::vector<std::string>> DecodeState(absl::string_view image);

// The state a snapshot describes: its checkpoint image decoded, plus its
// entries (which must continue the checkpoint).
absl::StatusOr<std::vector<std::string>> StateOf(
    const replication::EtcdLogSnapshot& snapshot);

class FollowerRecorder {
 public:
  // Starts from a bootstrap snapshot.
  absl::Status Reset(const replication::EtcdLogSnapshot& snapshot);

  replication::EtcdFollowerCallbacks Callbacks();

  // The payloads of revisions 1..revision().
  std::vector<std::string> state() const;
  uint64_t revision() const;
  // The etcd revision each delivered entry carried, by revision (0 for
  // revisions that came from a checkpoint or reset).
  std::vector<int64_t> etcd_revisions() const;
  int resets() const;
  int64_t entries_delivered() const;
  // The first ordering violation seen (a gap or a duplicate), if any.
  absl::Status violation() const;

 private:
  absl::Status OnEntry(const replication::EtcdLogEntry& entry);
  absl::Status OnReset(const replication::EtcdLogSnapshot& snapshot);

  mutable std::mutex mu_;
  std::vector<std::string> state_;
  std::vector<int64_t> etcd_revisions_;
  int resets_ = 0;
  int64_t entries_delivered_ = 0;
  absl::Status violation_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_REPLICATION_LOG_MODEL_H_
