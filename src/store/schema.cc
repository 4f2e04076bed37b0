#include "src/store/schema.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/store/status_macros.h"

namespace arbiter {
namespace store {
namespace internal {

const char* const kSchemaStatements[] = {
    // The store record: one row.
    "CREATE TABLE store_info(\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  format TEXT NOT NULL,\n"
    "  format_version INTEGER NOT NULL,\n"
    "  store_id BLOB NOT NULL,\n"
    "  created_unix_ms INTEGER NOT NULL,\n"
    "  base_revision INTEGER NOT NULL,\n"
    "  base_hash BLOB NOT NULL,\n"
    "  row_hash BLOB NOT NULL)",
    // The log: one row per revision; the revision is the rowid, so rows are
    // stored in revision order and looked up without a separate index. The
    // hash precedes the payload so that reading it touches no overflow page.
    "CREATE TABLE entries(\n"
    "  revision INTEGER PRIMARY KEY,\n"
    "  hash BLOB NOT NULL,\n"
    "  payload BLOB NOT NULL)",
    // Checkpoints: one row each, complete once state = 2.
    "CREATE TABLE checkpoints(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  revision INTEGER NOT NULL,\n"
    "  state INTEGER NOT NULL,\n"
    "  chain_head BLOB NOT NULL,\n"
    "  chunk_count INTEGER NOT NULL,\n"
    "  total_bytes INTEGER NOT NULL,\n"
    "  last_chunk_hash BLOB,\n"
    "  record_hash BLOB)",
    "CREATE TABLE checkpoint_chunks(\n"
    "  checkpoint_id INTEGER NOT NULL,\n"
    "  chunk_index INTEGER NOT NULL,\n"
    "  hash BLOB NOT NULL,\n"
    "  data BLOB NOT NULL,\n"
    "  PRIMARY KEY (checkpoint_id, chunk_index))",
};
const size_t kSchemaStatementCount =
    sizeof(kSchemaStatements) / sizeof(kSchemaStatements[0]);

namespace {

absl::Status ErrnoError(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == EACCES || err == EPERM || err == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::UnavailableError(message);
}

void RemoveIfPresent(const std::string& path) { ::unlink(path.c_str()); }

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The schema objects of a database: "type name tbl_name sql" per object.
absl::StatusOr<std::vector<std::string>> SchemaObjects(Connection& conn) {
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(conn,
                         "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                         "ORDER BY type, name"));
  std::vector<std::string> out;
  while (true) {
    STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(absl::StrCat(
                                         conn.path(), ": reading the schema")));
    if (!row) break;
    out.push_back(absl::StrCat(
        stmt->ColumnText(0), " ", stmt->ColumnText(1), " on ",
        stmt->ColumnText(2), ": ",
        stmt->ColumnIsNull(3) ? absl::string_view("-") : stmt->ColumnText(3)));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ExpectedSchemaObjects() {
  static const auto* const expected =
      new absl::StatusOr<std::vector<std::string>>([] {
        auto conn =
            Connection::Open(":memory:", OpenMode::kReadWriteCreate, "", 0);
        if (!conn.ok()) {
          return absl::StatusOr<std::vector<std::string>>(conn.status());
        }
        for (size_t i = 0; i < kSchemaStatementCount; ++i) {
          absl::Status s = (*conn)->Exec(kSchemaStatements[i], "schema");
          if (!s.ok()) return absl::StatusOr<std::vector<std::string>>(s);
        }
        return SchemaObjects(**conn);
      }());
  return *expected;
}

}  // namespace

absl::Status CreateDatabase(const std::string& path, const std::string& vfs,
                            int busy_timeout_ms, const OsFaultHook& hook) {
  const std::string tmp = path + ".creating";
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    RemoveIfPresent(tmp + suffix);
  }
  if (int err = InjectedErrno(hook, "create_db", tmp)) {
    return ErrnoError(err, absl::StrCat(tmp, ": cannot create"));
  }
  unsigned char id[kStoreIdSize];
  if (RAND_bytes(id, sizeof(id)) != 1) {
    return absl::InternalError("RAND_bytes failed: no store id");
  }
  StoreInfo info;
  info.store_id.assign(reinterpret_cast<const char*>(id), sizeof(id));
  info.created_unix_ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  info.base_revision = 0;
  info.base_hash = BaseHash(info.store_id, 0);
  {
    STORE_ASSIGN_OR_RETURN(
        auto conn, Connection::Open(tmp, OpenMode::kReadWriteCreate, vfs,
                                    busy_timeout_ms));
    // Created in rollback-journal mode (synced by SQLite at COMMIT), then
    // switched to WAL, which is recorded in the file header.
    STORE_RETURN_IF_ERROR(
        conn->Exec("PRAGMA page_size = 4096; PRAGMA synchronous = FULL;",
                   absl::StrCat(tmp, ": configuring")));
    std::string ddl = absl::StrCat(
        "BEGIN IMMEDIATE;\n", "PRAGMA application_id = ", kApplicationId, ";\n",
        "PRAGMA user_version = ", kFormatVersion, ";\n");
    for (size_t i = 0; i < kSchemaStatementCount; ++i) {
      absl::StrAppend(&ddl, kSchemaStatements[i], ";\n");
    }
    STORE_RETURN_IF_ERROR(
        conn->Exec(ddl, absl::StrCat(tmp, ": creating the schema")));
    STORE_ASSIGN_OR_RETURN(
        auto insert,
        Statement::Prepare(
            *conn,
            "INSERT INTO store_info(id, format, format_version, store_id, "
            "created_unix_ms, base_revision, base_hash, row_hash) "
            "VALUES (1, ?, ?, ?, ?, 0, ?, ?)"));
    const Digest row_hash =
        StoreInfoHash(kFormatName, kFormatVersion, info.store_id,
                      info.created_unix_ms, 0, info.base_hash);
    insert->BindText(1, kFormatName);
    insert->BindInt(2, kFormatVersion);
    insert->BindBlob(3, info.store_id);
    insert->BindInt(4, static_cast<int64_t>(info.created_unix_ms));
    insert->BindBlob(5, AsBytes(info.base_hash));
    insert->BindBlob(6, AsBytes(row_hash));
    absl::Status inserted =
        insert->Step(absl::StrCat(tmp, ": writing the store record")).status();
    insert.reset();
    if (!inserted.ok()) {
      conn->RollbackQuietly();
      return inserted;
    }
    absl::Status committed =
        conn->Exec("COMMIT", absl::StrCat(tmp, ": creating the schema"));
    if (!committed.ok()) {
      conn->RollbackQuietly();
      return committed;
    }
    STORE_ASSIGN_OR_RETURN(
        std::string mode,
        conn->QueryText("PRAGMA journal_mode = WAL",
                        absl::StrCat(tmp, ": switching to WAL mode")));
    if (mode != "wal") {
      return absl::UnavailableError(absl::StrCat(
          tmp, ": SQLite refused WAL mode (journal_mode is ", mode, ")"));
    }
  }
  // The connection is closed: the (empty) WAL was removed. A leftover -wal
  // would hold data the renamed file would lose.
  if (::access((tmp + "-wal").c_str(), F_OK) == 0) {
    return absl::UnavailableError(
        absl::StrCat(tmp, "-wal: SQLite did not fold the WAL in on close"));
  }
  if (int err = InjectedErrno(hook, "rename", path)) {
    return ErrnoError(err, absl::StrCat(tmp, ": cannot rename to ", path));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat(tmp, ": cannot rename to ", path));
  }
  const std::string dir = DirectoryOf(path);
  if (int err = InjectedErrno(hook, "fsync_dir", dir)) {
    return ErrnoError(err, absl::StrCat(dir, ": cannot fsync the directory"));
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return ErrnoError(err, absl::StrCat(dir, ": cannot fsync the directory"));
  }
  ::close(fd);
  return absl::OkStatus();
}

absl::Status CheckSchema(Connection& conn) {
  const std::string& path = conn.path();
  // The first read of the file: SQLITE_NOTADB for a foreign file.
  STORE_ASSIGN_OR_RETURN(
      int64_t app_id,
      conn.QueryInt("PRAGMA application_id",
                    absl::StrCat(path, ": reading the database header")));
  if (app_id != kApplicationId) {
    if (app_id == 0) {
      STORE_ASSIGN_OR_RETURN(
          int64_t objects,
          conn.QueryInt("SELECT count(*) FROM sqlite_schema",
                        absl::StrCat(path, ": reading the schema")));
      if (objects == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            path,
            ": an empty SQLite database, not an Arbiter store (a store is "
            "never empty: a truncated file, or one created by another tool)"));
      }
    }
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: an SQLite database of another application (application_id "
        "0x%08x, expected 0x%08x for an Arbiter store)",
        path, static_cast<uint32_t>(app_id),
        static_cast<uint32_t>(kApplicationId)));
  }
  STORE_ASSIGN_OR_RETURN(
      int64_t version,
      conn.QueryInt("PRAGMA user_version",
                    absl::StrCat(path, ": reading the database header")));
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": store format version ", version,
                     "; this build reads version ", kFormatVersion));
  }
  STORE_ASSIGN_OR_RETURN(std::vector<std::string> actual, SchemaObjects(conn));
  STORE_ASSIGN_OR_RETURN(std::vector<std::string> expected,
                         ExpectedSchemaObjects());
  if (actual != expected) {
    for (size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
      if (i >= actual.size()) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": schema object missing: ", expected[i]));
      }
      if (i >= expected.size() || actual[i] != expected[i]) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, ": unexpected schema object: ", actual[i],
            i < expected.size() ? absl::StrCat(" (expected ", expected[i], ")")
                                : std::string()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StoreInfo> ReadStoreInfo(Connection& conn) {
  const std::string what = absl::StrCat(conn.path(), ": table store_info");
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(conn,
                         "SELECT id, format, format_version, store_id, "
                         "created_unix_ms, base_revision, base_hash, row_hash "
                         "FROM store_info"));
  STORE_ASSIGN_OR_RETURN(bool row, stmt->Step(what));
  if (!row) {
    return absl::DataLossError(
        absl::StrCat(what, ": the store record is missing"));
  }
  StoreInfo info;
  const int64_t id = stmt->ColumnInt(0);
  const std::string format(stmt->ColumnText(1));
  const int64_t format_version = stmt->ColumnInt(2);
  info.store_id = std::string(stmt->ColumnBlob(3));
  const int64_t created = stmt->ColumnInt(4);
  const int64_t base_revision = stmt->ColumnInt(5);
  Digest row_hash;
  if (id != 1 || format != kFormatName || format_version != kFormatVersion ||
      info.store_id.size() != kStoreIdSize || created < 0 ||
      base_revision < 0 ||
      !DigestFromBytes(stmt->ColumnBlob(6), &info.base_hash) ||
      !DigestFromBytes(stmt->ColumnBlob(7), &row_hash)) {
    return absl::DataLossError(
        absl::StrCat(what, ": the store record is malformed (format \"", format,
                     "\", version ", format_version, ", store_id of ",
                     info.store_id.size(), " bytes)"));
  }
  info.created_unix_ms = static_cast<uint64_t>(created);
  info.base_revision = static_cast<uint64_t>(base_revision);
  if (StoreInfoHash(format, format_version, info.store_id, info.created_unix_ms,
                    info.base_revision, info.base_hash) != row_hash) {
    return absl::DataLossError(
        absl::StrCat(what,
                     ": the store record does not match its hash "
                     "(row_hash): a field was altered"));
  }
  if (BaseHash(info.store_id, info.base_revision) != info.base_hash) {
    return absl::DataLossError(absl::StrCat(
        what, ": base_hash does not match base_revision ", info.base_revision));
  }
  STORE_ASSIGN_OR_RETURN(bool more, stmt->Step(what));
  if (more) {
    return absl::DataLossError(
        absl::StrCat(what, ": more than one store record"));
  }
  return info;
}

absl::Status UpdateStoreBase(Connection& conn, const StoreInfo& info) {
  STORE_ASSIGN_OR_RETURN(
      auto stmt,
      Statement::Prepare(conn,
                         "UPDATE store_info SET base_revision = ?, "
                         "base_hash = ?, row_hash = ? WHERE id = 1"));
  const Digest row_hash =
      StoreInfoHash(kFormatName, kFormatVersion, info.store_id,
                    info.created_unix_ms, info.base_revision, info.base_hash);
  stmt->BindInt(1, static_cast<int64_t>(info.base_revision));
  stmt->BindBlob(2, AsBytes(info.base_hash));
  stmt->BindBlob(3, AsBytes(row_hash));
  return stmt->Step(absl::StrCat(conn.path(), ": updating the store record"))
      .status();
}

}  // namespace internal
}  // namespace store
}  // namespace arbiter
