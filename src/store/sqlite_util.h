// Private to arbiter_store: thin RAII wrappers over the SQLite C API and the
// mapping of SQLite result codes to absl::Status. Not thread-safe: a
// Connection (and its statements) is used by one thread at a time; the
// store guarantees that with its own locks (connections are opened with
// SQLITE_OPEN_NOMUTEX).

#ifndef ARBITER_SRC_STORE_SQLITE_UTIL_H_
#define ARBITER_SRC_STORE_SQLITE_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace arbiter {
namespace store {
namespace internal {

// Maps an SQLite result code (with the connection's extended code, message
// and errno) to a status whose message starts with `what`:
//   SQLITE_CORRUPT, SQLITE_NOTADB        DataLoss
//   SQLITE_FULL                          ResourceExhausted (disk full)
//   SQLITE_IOERR_*                       Unavailable (I/O error)
//   SQLITE_READONLY, SQLITE_PERM,
//   SQLITE_CANTOPEN with EACCES/EROFS    PermissionDenied
//   SQLITE_CANTOPEN with ENOENT          NotFound
//   SQLITE_BUSY, SQLITE_LOCKED           Unavailable
//   SQLITE_NOMEM                         ResourceExhausted
//   SQLITE_TOOBIG                        InvalidArgument
//   others                               Internal
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// True for results after which a COMMIT may or may not have reached the
// disk (I/O errors other than a clean disk-full rollback).
bool IsAmbiguousCommitFailure(int rc);

enum class OpenMode { kReadOnly, kReadWrite, kReadWriteCreate };

class Connection {
 public:
  // Opens `path` with `vfs` (empty: the default). `immutable` opens a
  // read-only file as immutable (no locks, no WAL; a read-only medium).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, OpenMode mode, const std::string& vfs,
      int busy_timeout_ms, bool immutable = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows needed by the caller.
  absl::Status Exec(absl::string_view sql, absl::string_view what);
  // Runs a query whose first row's first column is an integer.
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql,
                                   absl::string_view what);
  // Runs a query whose first row's first column is text.
  absl::StatusOr<std::string> QueryText(absl::string_view sql,
                                        absl::string_view what);
  // ROLLBACK if a transaction is open (errors ignored: SQLite may already
  // have rolled back).
  void RollbackQuietly();

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// A prepared statement. Step() returns true while there is a row.
class Statement {
 public:
  static absl::StatusOr<std::unique_ptr<Statement>> Prepare(
      Connection& conn, absl::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindInt(int index, int64_t value);
  // Binds without copying: `value` must outlive the next Step/Reset.
  void BindBlob(int index, absl::string_view value);
  void BindText(int index, absl::string_view value);
  void BindNull(int index);

  absl::StatusOr<bool> Step(absl::string_view what);
  // sqlite3_step's result code, for callers that classify it themselves.
  int StepRaw();
  void Reset();

  int64_t ColumnInt(int index) const;
  bool ColumnIsNull(int index) const;
  // Valid until the next Step/Reset.
  absl::string_view ColumnBlob(int index) const;
  absl::string_view ColumnText(int index) const;

 private:
  Statement(Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Connection& conn_;
  sqlite3_stmt* stmt_;
};

// `path` as an SQLite URI ("file:" with %-escapes), with `query` appended.
std::string SqliteUri(const std::string& path, absl::string_view query);

}  // namespace internal
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_SQLITE_UTIL_H_
