// File: arbiter/durable_store_options.h
//
// The options of a DurableStore (arbiter/durable_store.h), each with its
// default. The defaults are the safe ones: every acknowledged transaction
// fsynced, checkpoints in the background, the log compacted behind them,
// everything verified on open.
//
// Example:
//
//   arbiter::DurableStoreOptions options;
//   options.policy.engine = my_engine_options;   // as for PolicyStore
//   options.checkpoint_after_entries = 50000;     // fewer, larger checkpoints
//   auto store = arbiter::DurableStore::Open("/var/lib/arbiter", options);

#ifndef ARBITER_DURABLE_STORE_OPTIONS_H_
#define ARBITER_DURABLE_STORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "arbiter/policy_store.h"

namespace arbiter {

// When an acknowledged transaction is on stable storage.
enum class StoreSync : uint8_t {
  // Default. Every commit is fsynced before Apply returns (SQLite
  // synchronous=FULL in WAL mode): an acknowledged transaction survives
  // kill -9, a kernel crash and power loss.
  kFull,
  // Faster, and only when asked for: commits are not fsynced (SQLite
  // synchronous=NORMAL). Survives kill -9 (the bytes are in the kernel's
  // page cache); a power loss or kernel crash may lose the last
  // acknowledged transactions -- never corrupts the store, never leaves one
  // half-applied.
  kNormal,
};

struct DurableStoreOptions {
  // The in-memory store's options: engine options, max_mutations, audit
  // (checkpoint interval, signing key, sink), clock, max_group (group
  // commit). `policy.log` must stay null: the store logs to its directory.
  PolicyStoreOptions policy;

  StoreSync sync = StoreSync::kFull;

  // Opens without writing anything: no writer lock, Apply refused
  // (UNAVAILABLE, Refusal::kUnavailable), Checkpoint FailedPrecondition.
  // Any number of read-only opens may coexist with one writer, in any
  // process; each sees the store as it was when it opened. Default false.
  bool read_only = false;

  // ---- Checkpoints ----
  // A background thread writes a checkpoint (an image of the state and the
  // audit log at the last committed revision) once this many transactions,
  // or this many bytes of log, were committed since the last one. Open
  // replays the log after the latest checkpoint, so these bound the time of
  // Open (docs/store.md: ~0.1 ms per logged transaction). 0 turns a
  // trigger off; both 0: checkpoints only by Checkpoint(). Defaults 10,000
  // transactions, 64 MiB.
  uint64_t checkpoint_after_entries = 10000;
  uint64_t checkpoint_after_bytes = uint64_t{64} << 20;

  // After a checkpoint at revision R, the log entries up to R are deleted
  // (false: the store stays about twice the checkpoint's size) or kept as
  // history (true: `arbiter store verify` checks them all). Default false.
  bool keep_log_entries = false;

  // ---- Verification on Open ----
  // Open always verifies what it loads (the latest checkpoint, every entry
  // after it, their SHA-256 chain, the audit chain). With this, it also
  // rehashes the history kept before the checkpoint (keep_log_entries).
  // Default false.
  bool verify_history_on_open = false;
  // SQLite's PRAGMA quick_check on a writable Open (b-trees and free list;
  // 20-50 ms at 35 MB), so that a damaged free list is never written over.
  // Default true.
  bool quick_check_on_open = true;

  // ---- Limits ----
  // A transaction whose log record (its delta and audit records) is larger
  // is refused (UNAVAILABLE, nothing applied). Default 64 MiB.
  size_t max_entry_bytes = size_t{64} << 20;
  // A checkpoint larger than this is not written (the background thread
  // records the error in stats; Checkpoint returns it). Default 4 GiB.
  size_t max_checkpoint_bytes = size_t{4} << 30;
  // How long a SQLite call waits for a lock held by another connection
  // (another process reading the store, for example). Default 5,000 ms.
  int busy_timeout_ms = 5000;
};

}  // namespace arbiter

#endif  // ARBITER_DURABLE_STORE_OPTIONS_H_
