// Private to arbiter_store: the on-disk schema of DIR/arbiter.db (format
// version 1), its creation and its recognition. docs/store.md describes
// every table and column; this file is the authority.

#ifndef ARBITER_SRC_STORE_SCHEMA_H_
#define ARBITER_SRC_STORE_SCHEMA_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/store/lock_file.h"
#include "src/store/record_hash.h"
#include "src/store/sqlite_util.h"

namespace arbiter {
namespace store {
namespace internal {

// PRAGMA application_id: "Arbt". Marks the file as an Arbiter store to
// SQLite tools (and to `file`, via the magic database) and to Open.
constexpr int32_t kApplicationId = 0x41726274;
// PRAGMA user_version and store_info.format_version.
constexpr int64_t kFormatVersion = 1;
constexpr const char* kFormatName = "arbiter.store";
constexpr size_t kStoreIdSize = 16;

// checkpoints.state
constexpr int64_t kCheckpointWriting = 1;   // chunks being written
constexpr int64_t kCheckpointComplete = 2;  // visible to LatestCheckpoint
constexpr int64_t kCheckpointObsolete = 3;  // superseded, being deleted

// The tables, one statement each (also the expected sqlite_schema text).
extern const char* const kSchemaStatements[];
extern const size_t kSchemaStatementCount;

// The store record (table store_info, one row), verified against its hash.
struct StoreInfo {
  std::string store_id;  // kStoreIdSize random bytes
  uint64_t created_unix_ms = 0;
  uint64_t base_revision = 0;  // 0, or the revision of an imported base
  Digest base_hash{};          // BaseHash(store_id, base_revision)
};

// Creates `path` atomically: the schema and store record are written to
// `path`.creating (SQLite, synced), which is then renamed to `path` and the
// directory fsynced, so that a crash never leaves a half-created store
// under the real name.
absl::Status CreateDatabase(const std::string& path, const std::string& vfs,
                            int busy_timeout_ms, const OsFaultHook& hook);

// Checks that `conn` is an Arbiter store of this format version: the
// application_id, the user_version and exactly the expected schema objects
// (no missing, altered or extra table, index, trigger or view).
// FailedPrecondition naming the file and the difference; DataLoss if SQLite
// cannot read the schema.
absl::Status CheckSchema(Connection& conn);

// Reads and verifies the store record (DataLoss naming the field).
absl::StatusOr<StoreInfo> ReadStoreInfo(Connection& conn);

// Rewrites the store record's base (inside the caller's transaction).
absl::Status UpdateStoreBase(Connection& conn, const StoreInfo& info);

}  // namespace internal
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_SCHEMA_H_
