// Private to arbiter_store and its tests: DurableStore's parts, and opening
// one with the DurableLog's options adjusted (fault injection, small
// checkpoint chunks).

#ifndef ARBITER_SRC_STORE_DURABLE_STORE_INTERNAL_H_
#define ARBITER_SRC_STORE_DURABLE_STORE_INTERNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_store.h"
#include "src/store/durable_log.h"

namespace arbiter {

// The log under the PolicyStore (its PolicyLog), the background
// checkpointer and the counters.
struct DurableStore::Impl : public PolicyLog {
  std::string dir;
  DurableStoreOptions options;
  std::unique_ptr<store::DurableLog> log;
  std::unique_ptr<PolicyStore> policy;  // destroyed before `log`

  // PolicyLog: one group of transactions, one durable append.
  absl::Status Append(uint64_t first_revision,
                      std::vector<std::string> records) override;

  // Writes a checkpoint at the last committed revision (one at a time).
  absl::Status CheckpointNow();
  absl::Status Verify();
  DurableStoreStats Stats() const;

  // ---- Background checkpoints ----
  void StartCheckpointer();
  void StopCheckpointer();
  // Asks for a checkpoint if the log since the last one is over a limit.
  void MaybeRequestCheckpoint();
  void CheckpointerLoop();

  std::mutex checkpoint_mu;  // one checkpoint at a time
  std::mutex bg_mu;
  std::condition_variable bg_cv;
  bool bg_requested = false;  // guarded by bg_mu
  bool bg_stop = false;       // guarded by bg_mu
  std::thread bg_thread;

  // ---- Counters (guarded by stats_mu) ----
  mutable std::mutex stats_mu;
  uint64_t checkpoint_revision = 0;
  uint64_t entries_since_checkpoint = 0;
  uint64_t bytes_since_checkpoint = 0;
  uint64_t log_appends = 0;
  uint64_t transactions_logged = 0;
  uint64_t largest_group = 0;
  uint64_t checkpoints_written = 0;
  uint64_t checkpoint_failures = 0;
  std::string last_checkpoint_error;
  // After a failed background checkpoint, the next waits this long.
  absl::Time retry_after = absl::InfinitePast();
  absl::Duration backoff = absl::Seconds(1);

  // Set when a group was committed only in part: the store then refuses
  // writes until reopened (only Append touches it: one caller at a time).
  absl::Status diverged;

  ~Impl() override;
};

namespace store {

// Adjusts the DurableLog's options that DurableStoreOptions set (tests).
using LogOptionsHook = std::function<void(DurableLogOptions*)>;

class DurableStoreAccess {
 public:
  static absl::StatusOr<std::unique_ptr<DurableStore>> Open(
      const std::string& dir, DurableStoreOptions options,
      const LogOptionsHook& hook);
  static absl::StatusOr<std::unique_ptr<DurableStore>> Create(
      const std::string& dir, v1::PolicySet state, DurableStoreOptions options,
      const LogOptionsHook& hook);
  static absl::StatusOr<StoreContents> Read(const std::string& dir,
                                            const DurableStoreOptions& options,
                                            const LogOptionsHook& hook);
  static DurableLog& Log(DurableStore& store) { return *store.impl_->log; }
  // The PolicyLog the store's PolicyStore appends through.
  static PolicyLog& PolicyLogOf(DurableStore& store) { return *store.impl_; }

 private:
  static absl::StatusOr<std::unique_ptr<DurableStore>> OpenImpl(
      const std::string& dir, DurableStoreOptions options,
      const LogOptionsHook& hook, absl::optional<v1::PolicySet> create);
};

// The DurableLog options a DurableStore opens with.
DurableLogOptions LogOptionsFor(const DurableStoreOptions& options);

}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_DURABLE_STORE_INTERNAL_H_
