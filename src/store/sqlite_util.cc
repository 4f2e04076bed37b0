#include "src/store/sqlite_util.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arbiter {
namespace store {
namespace internal {

namespace {

absl::StatusCode CodeFor(int rc, int sys_errno) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CANTOPEN:
      if (sys_errno == EACCES || sys_errno == EROFS || sys_errno == EPERM) {
        return absl::StatusCode::kPermissionDenied;
      }
      if (sys_errno == ENOENT) return absl::StatusCode::kNotFound;
      return absl::StatusCode::kUnavailable;
    case SQLITE_TOOBIG:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  int extended = rc;
  std::string detail;
  int sys_errno = 0;
  if (db != nullptr) {
    extended = sqlite3_extended_errcode(db);
    if ((extended & 0xff) != (rc & 0xff)) extended = rc;
    detail = sqlite3_errmsg(db);
    sys_errno = sqlite3_system_errno(db);
  } else {
    detail = sqlite3_errstr(rc);
  }
  std::string message =
      absl::StrFormat("%s: %s (SQLite error %d", what, detail, extended);
  const int primary = rc & 0xff;
  if (sys_errno != 0 &&
      (primary == SQLITE_IOERR || primary == SQLITE_FULL ||
       primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)) {
    absl::StrAppend(&message, ", errno ", sys_errno, " ",
                    std::strerror(sys_errno));
  }
  message += ")";
  if (primary == SQLITE_FULL) message += "; the file system is out of space";
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    message += "; the file is damaged or not an Arbiter store";
  }
  return absl::Status(CodeFor(rc, sys_errno), message);
}

bool IsAmbiguousCommitFailure(int rc) {
  const int primary = rc & 0xff;
  // A disk-full error and a lock timeout roll back before the commit frame
  // is written; anything else from COMMIT (an fsync or write error) may
  // leave it on disk.
  return primary != SQLITE_FULL && primary != SQLITE_BUSY &&
         primary != SQLITE_LOCKED && primary != SQLITE_NOMEM;
}

std::string SqliteUri(const std::string& path, absl::string_view query) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      absl::StrAppendFormat(&uri, "%%%02X", static_cast<unsigned char>(c));
    } else {
      uri.push_back(c);
    }
  }
  if (!query.empty()) absl::StrAppend(&uri, "?", query);
  return uri;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& path, OpenMode mode, const std::string& vfs,
    int busy_timeout_ms, bool immutable) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_URI;
  switch (mode) {
    case OpenMode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case OpenMode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case OpenMode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  const std::string uri = SqliteUri(path, immutable ? "immutable=1" : "");
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &db, flags,
                           vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    absl::Status status =
        SqliteStatus(db, rc, absl::StrCat(path, ": cannot open"));
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // Defensive: no writable_schema, no schema-changing pragmas through SQL.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return std::unique_ptr<Connection>(new Connection(db, path));
}

Connection::~Connection() { sqlite3_close_v2(db_); }

absl::Status Connection::Exec(absl::string_view sql, absl::string_view what) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, what);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Connection::QueryInt(absl::string_view sql,
                                             absl::string_view what) {
  auto stmt = Statement::Prepare(*this, sql);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step(what);
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(absl::StrCat(what, ": query returned no row"));
  }
  return (*stmt)->ColumnInt(0);
}

absl::StatusOr<std::string> Connection::QueryText(absl::string_view sql,
                                                  absl::string_view what) {
  auto stmt = Statement::Prepare(*this, sql);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step(what);
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(absl::StrCat(what, ": query returned no row"));
  }
  return std::string((*stmt)->ColumnText(0));
}

void Connection::RollbackQuietly() {
  if (sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

absl::StatusOr<std::unique_ptr<Statement>> Statement::Prepare(
    Connection& conn, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(conn.db(), sql.data(),
                              static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(conn.db(), rc,
                        absl::StrCat(conn.path(), ": preparing \"", sql, "\""));
  }
  return std::unique_ptr<Statement>(new Statement(conn, stmt));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::BindInt(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::BindBlob(int index, absl::string_view value) {
  // A zero-length blob, not NULL, for an empty payload.
  sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(),
                      value.size(), SQLITE_STATIC);
}

void Statement::BindText(int index, absl::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

absl::StatusOr<bool> Statement::Step(absl::string_view what) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status status = SqliteStatus(conn_.db(), rc, what);
  sqlite3_reset(stmt_);
  return status;
}

int Statement::StepRaw() { return sqlite3_step(stmt_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

absl::string_view Statement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr) return absl::string_view();
  return absl::string_view(static_cast<const char*>(data),
                           static_cast<size_t>(size));
}

absl::string_view Statement::ColumnText(int index) const {
  const unsigned char* data = sqlite3_column_text(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr) return absl::string_view();
  return absl::string_view(reinterpret_cast<const char*>(data),
                           static_cast<size_t>(size));
}

}  // namespace internal
}  // namespace store
}  // namespace arbiter
