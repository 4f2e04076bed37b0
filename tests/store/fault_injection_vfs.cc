#include "tests/store/fault_injection_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <utility>

namespace arbiter {
namespace store {
namespace testing {

namespace {

using FileKind = FaultInjectionVfs::FileKind;
using Op = FaultInjectionVfs::Op;

// The errno of the last injected fault on this thread, for xGetLastError
// (sqlite3_system_errno).
thread_local int g_injected_errno = 0;

struct ShimFile {
  sqlite3_file base;
  FaultInjectionVfs* owner;
  sqlite3_file* real;
  std::string* path;  // null: a temporary file, not tracked
  FileKind kind;
};

sqlite3_vfs* RealVfs(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(
      static_cast<std::pair<FaultInjectionVfs*, sqlite3_vfs*>*>(vfs->pAppData)
          ->second);
}
FaultInjectionVfs* Owner(sqlite3_vfs* vfs) {
  return static_cast<std::pair<FaultInjectionVfs*, sqlite3_vfs*>*>(
             vfs->pAppData)
      ->first;
}

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

bool Matches(FileKind want, FileKind kind) {
  return want == FileKind::kAny || want == kind;
}

int Inject(int rc, int err_no) {
  g_injected_errno = err_no;
  return rc;
}

// ---- io methods ----

int ShimClose(sqlite3_file* f) {
  ShimFile* s = Shim(f);
  int rc = s->real->pMethods != nullptr ? s->real->pMethods->xClose(s->real)
                                        : SQLITE_OK;
  delete s->path;
  s->path = nullptr;
  return rc;
}

int ShimRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  ShimFile* s = Shim(f);
  g_injected_errno = 0;
  int err = 0;
  if (int rc = s->owner->Decide(Op::kRead, s->kind, 0, &err)) {
    return Inject(rc, err);
  }
  return s->real->pMethods->xRead(s->real, buf, amt, off);
}

int ShimWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  ShimFile* s = Shim(f);
  g_injected_errno = 0;
  sqlite3_int64 size = 0;
  if (s->real->pMethods->xFileSize(s->real, &size) != SQLITE_OK) size = 0;
  const int64_t grow = off + amt > size ? off + amt - size : 0;
  int err = 0;
  if (int rc = s->owner->Decide(Op::kWrite, s->kind, grow, &err)) {
    return Inject(rc, err);
  }
  if (s->path != nullptr) {
    FaultInjectionVfs::Undo undo;
    undo.offset = off;
    undo.old_size = size;
    undo.new_data.assign(static_cast<const char*>(buf), amt);
    if (off < size) {
      const int64_t n = std::min<int64_t>(amt, size - off);
      undo.old_data.resize(n);
      if (s->real->pMethods->xRead(s->real, &undo.old_data[0],
                                   static_cast<int>(n), off) != SQLITE_OK) {
        undo.old_data.clear();  // cannot happen for n bytes inside the file
      }
    }
    s->owner->RecordUndo(*s->path, std::move(undo));
  }
  return s->real->pMethods->xWrite(s->real, buf, amt, off);
}

int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  ShimFile* s = Shim(f);
  g_injected_errno = 0;
  int err = 0;
  if (int rc = s->owner->Decide(Op::kTruncate, s->kind, 0, &err)) {
    return Inject(rc, err);
  }
  if (s->path != nullptr) {
    sqlite3_int64 old_size = 0;
    s->real->pMethods->xFileSize(s->real, &old_size);
    FaultInjectionVfs::Undo undo;
    undo.truncate = true;
    undo.offset = size;
    undo.old_size = old_size;
    if (size < old_size) {
      undo.old_data.resize(old_size - size);
      s->real->pMethods->xRead(s->real, &undo.old_data[0],
                               static_cast<int>(old_size - size), size);
    }
    s->owner->RecordUndo(*s->path, std::move(undo));
  }
  return s->real->pMethods->xTruncate(s->real, size);
}

int ShimSync(sqlite3_file* f, int flags) {
  ShimFile* s = Shim(f);
  g_injected_errno = 0;
  int err = 0;
  if (int rc = s->owner->Decide(Op::kSync, s->kind, 0, &err)) {
    return Inject(rc, err);
  }
  int rc = s->real->pMethods->xSync(s->real, flags);
  if (rc == SQLITE_OK && s->path != nullptr) s->owner->Synced(*s->path);
  return rc;
}

int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Shim(f)->real->pMethods->xFileSize(Shim(f)->real, size);
}
int ShimLock(sqlite3_file* f, int level) {
  return Shim(f)->real->pMethods->xLock(Shim(f)->real, level);
}
int ShimUnlock(sqlite3_file* f, int level) {
  return Shim(f)->real->pMethods->xUnlock(Shim(f)->real, level);
}
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return Shim(f)->real->pMethods->xCheckReservedLock(Shim(f)->real, out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return Shim(f)->real->pMethods->xFileControl(Shim(f)->real, op, arg);
}
int ShimSectorSize(sqlite3_file* f) {
  return Shim(f)->real->pMethods->xSectorSize(Shim(f)->real);
}
int ShimDeviceCharacteristics(sqlite3_file* f) {
  return Shim(f)->real->pMethods->xDeviceCharacteristics(Shim(f)->real);
}
int ShimShmMap(sqlite3_file* f, int region, int size, int extend,
               void volatile** out) {
  return Shim(f)->real->pMethods->xShmMap(Shim(f)->real, region, size, extend,
                                          out);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Shim(f)->real->pMethods->xShmLock(Shim(f)->real, offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) {
  Shim(f)->real->pMethods->xShmBarrier(Shim(f)->real);
}
int ShimShmUnmap(sqlite3_file* f, int delete_flag) {
  return Shim(f)->real->pMethods->xShmUnmap(Shim(f)->real, delete_flag);
}

// Version 2: no xFetch/xUnfetch, so SQLite never reads through mmap and
// every read passes here.
const sqlite3_io_methods kShimMethods = {
    2,
    ShimClose,
    ShimRead,
    ShimWrite,
    ShimTruncate,
    ShimSync,
    ShimFileSize,
    ShimLock,
    ShimUnlock,
    ShimCheckReservedLock,
    ShimFileControl,
    ShimSectorSize,
    ShimDeviceCharacteristics,
    ShimShmMap,
    ShimShmLock,
    ShimShmBarrier,
    ShimShmUnmap,
    nullptr,
    nullptr,
};

// ---- vfs methods ----

int VfsOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
            int* out_flags) {
  g_injected_errno = 0;
  FaultInjectionVfs* owner = Owner(vfs);
  sqlite3_vfs* real = RealVfs(vfs);
  ShimFile* s = Shim(file);
  s->base.pMethods = nullptr;
  s->owner = owner;
  s->real = reinterpret_cast<sqlite3_file*>(s + 1);
  s->real->pMethods = nullptr;
  s->path = nullptr;
  s->kind = (flags & SQLITE_OPEN_MAIN_DB) ? FileKind::kMainDb
            : (flags & SQLITE_OPEN_WAL)   ? FileKind::kWal
                                          : FileKind::kAny;
  if (name != nullptr && (flags & SQLITE_OPEN_READWRITE) &&
      owner->read_only()) {
    // As on a real read-only file system: a file that exists opens
    // read-only (SQLite's unix VFS falls back the same way); creating one
    // fails with EROFS.
    int exists = 0;
    real->xAccess(real, name, SQLITE_ACCESS_EXISTS, &exists);
    if (!exists) return Inject(SQLITE_CANTOPEN, EROFS);
    flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
            SQLITE_OPEN_READONLY;
  }
  if (name != nullptr && (flags & SQLITE_OPEN_CREATE)) {
    int err = 0;
    if (int rc = owner->Decide(Op::kOpenCreate, s->kind, 0, &err)) {
      return Inject(rc, err);
    }
  }
  int rc = real->xOpen(real, name, s->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    return rc;
  }
  if (name != nullptr) s->path = new std::string(name);
  s->base.pMethods = &kShimMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  g_injected_errno = 0;
  int err = 0;
  if (int rc = Owner(vfs)->Decide(Op::kDelete, FileKind::kAny, 0, &err)) {
    return Inject(rc, err);
  }
  int rc = RealVfs(vfs)->xDelete(RealVfs(vfs), name, sync_dir);
  if (rc == SQLITE_OK) Owner(vfs)->Deleted(name);
  return rc;
}

int VfsAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  int rc = RealVfs(vfs)->xAccess(RealVfs(vfs), name, flags, out);
  if (rc == SQLITE_OK && flags == SQLITE_ACCESS_READWRITE &&
      Owner(vfs)->read_only()) {
    *out = 0;
  }
  return rc;
}

int VfsFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return RealVfs(vfs)->xFullPathname(RealVfs(vfs), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* vfs, const char* name) {
  return RealVfs(vfs)->xDlOpen(RealVfs(vfs), name);
}
void VfsDlError(sqlite3_vfs* vfs, int n, char* out) {
  RealVfs(vfs)->xDlError(RealVfs(vfs), n, out);
}
void (*VfsDlSym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  return RealVfs(vfs)->xDlSym(RealVfs(vfs), handle, sym);
}
void VfsDlClose(sqlite3_vfs* vfs, void* handle) {
  RealVfs(vfs)->xDlClose(RealVfs(vfs), handle);
}
int VfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return RealVfs(vfs)->xRandomness(RealVfs(vfs), n, out);
}
int VfsSleep(sqlite3_vfs* vfs, int micros) {
  return RealVfs(vfs)->xSleep(RealVfs(vfs), micros);
}
int VfsCurrentTime(sqlite3_vfs* vfs, double* out) {
  return RealVfs(vfs)->xCurrentTime(RealVfs(vfs), out);
}
int VfsGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  if (g_injected_errno != 0) return g_injected_errno;
  return RealVfs(vfs)->xGetLastError(RealVfs(vfs), n, out);
}
int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return RealVfs(vfs)->xCurrentTimeInt64(RealVfs(vfs), out);
}

void RestoreFile(const std::string& path,
                 const std::vector<FaultInjectionVfs::Undo>& log,
                 double keep_probability, std::mt19937_64& rng) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;  // deleted meanwhile: nothing to restore
  auto write_at = [&](const std::string& data, int64_t offset) {
    if (!data.empty()) {
      (void)!::pwrite(fd, data.data(), data.size(), offset);
    }
  };
  // Back to the synced state...
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    if (it->truncate) {
      (void)!::ftruncate(fd, it->old_size);
      write_at(it->old_data, it->offset);
    } else {
      write_at(it->old_data, it->offset);
      (void)!::ftruncate(fd, it->old_size);
    }
  }
  // ...then some of the unsynced writes, as a disk might have kept them.
  if (keep_probability > 0) {
    std::bernoulli_distribution keep(keep_probability);
    for (const auto& u : log) {
      if (!keep(rng)) continue;
      if (u.truncate) {
        (void)!::ftruncate(fd, u.offset);
      } else {
        write_at(u.new_data, u.offset);
      }
    }
  }
  ::close(fd);
}

}  // namespace

FaultInjectionVfs* FaultInjectionVfs::Get(const std::string& name) {
  static std::mutex mu;
  static auto* registry = new std::map<std::string, FaultInjectionVfs*>();
  std::lock_guard<std::mutex> l(mu);
  auto it = registry->find(name);
  if (it != registry->end()) return it->second;
  sqlite3_initialize();
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) std::abort();
  auto* self = new FaultInjectionVfs(name);
  auto* vfs = new sqlite3_vfs();
  vfs->iVersion = std::min(real->iVersion, 2);
  vfs->szOsFile = static_cast<int>(sizeof(ShimFile)) + real->szOsFile + 16;
  vfs->mxPathname = real->mxPathname;
  vfs->zName = self->name_.c_str();
  vfs->pAppData = new std::pair<FaultInjectionVfs*, sqlite3_vfs*>(self, real);
  vfs->xOpen = VfsOpen;
  vfs->xDelete = VfsDelete;
  vfs->xAccess = VfsAccess;
  vfs->xFullPathname = VfsFullPathname;
  vfs->xDlOpen = VfsDlOpen;
  vfs->xDlError = VfsDlError;
  vfs->xDlSym = VfsDlSym;
  vfs->xDlClose = VfsDlClose;
  vfs->xRandomness = VfsRandomness;
  vfs->xSleep = VfsSleep;
  vfs->xCurrentTime = VfsCurrentTime;
  vfs->xGetLastError = VfsGetLastError;
  vfs->xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(vfs, /*makeDflt=*/0) != SQLITE_OK) std::abort();
  self->vfs_ = vfs;
  (*registry)[name] = self;
  return self;
}

FaultInjectionVfs::FaultInjectionVfs(std::string name)
    : name_(std::move(name)) {}

void FaultInjectionVfs::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  free_bytes_ = -1;
  all_writes_full_ = false;
  sync_fail_after_ = -1;
  sync_fail_count_ = 0;
  read_fail_kind_ = FileKind::kAny;
  read_fail_after_ = -1;
  read_fail_count_ = 0;
  read_only_ = false;
  crash_after_ = -1;
  crashed_ = false;
  writes_ = 0;
  syncs_ = 0;
  undo_.clear();
}

void FaultInjectionVfs::SetFreeBytes(int64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  free_bytes_ = bytes;
}

void FaultInjectionVfs::SetAllWritesFull(bool full) {
  std::lock_guard<std::mutex> l(mu_);
  all_writes_full_ = full;
}

void FaultInjectionVfs::FailSyncs(int64_t after, int64_t count) {
  std::lock_guard<std::mutex> l(mu_);
  sync_fail_after_ = after;
  sync_fail_count_ = count;
}

void FaultInjectionVfs::FailReads(FileKind kind, int64_t after, int64_t count) {
  std::lock_guard<std::mutex> l(mu_);
  read_fail_kind_ = kind;
  read_fail_after_ = after;
  read_fail_count_ = count;
}

void FaultInjectionVfs::SetReadOnly(bool read_only) {
  std::lock_guard<std::mutex> l(mu_);
  read_only_ = read_only;
}

bool FaultInjectionVfs::read_only() const {
  std::lock_guard<std::mutex> l(mu_);
  return read_only_;
}

void FaultInjectionVfs::CrashAfterOps(int64_t ops) {
  std::lock_guard<std::mutex> l(mu_);
  crash_after_ = ops;
  if (ops == 0) crashed_ = true;
}

bool FaultInjectionVfs::crashed() const {
  std::lock_guard<std::mutex> l(mu_);
  return crashed_;
}

int64_t FaultInjectionVfs::writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}

int64_t FaultInjectionVfs::syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return syncs_;
}

int64_t FaultInjectionVfs::unsynced_writes() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& kv : undo_) n += static_cast<int64_t>(kv.second.size());
  return n;
}

int FaultInjectionVfs::Decide(Op op, FileKind kind, int64_t grow_bytes,
                              int* err_no) {
  std::lock_guard<std::mutex> l(mu_);
  const bool mutating = op == Op::kWrite || op == Op::kSync ||
                        op == Op::kTruncate || op == Op::kDelete ||
                        op == Op::kOpenCreate;
  if (mutating && !crashed_ && crash_after_ >= 0 &&
      (op == Op::kWrite || op == Op::kSync || op == Op::kTruncate)) {
    if (crash_after_ == 0) {
      crashed_ = true;
    } else {
      --crash_after_;
    }
  }
  if (mutating && crashed_) {
    *err_no = EIO;
    switch (op) {
      case Op::kWrite:
        return SQLITE_IOERR_WRITE;
      case Op::kSync:
        return SQLITE_IOERR_FSYNC;
      case Op::kTruncate:
        return SQLITE_IOERR_TRUNCATE;
      case Op::kDelete:
        return SQLITE_IOERR_DELETE;
      default:
        return SQLITE_CANTOPEN;
    }
  }
  if (read_only_ && (op == Op::kWrite || op == Op::kTruncate ||
                     op == Op::kDelete || op == Op::kOpenCreate)) {
    *err_no = EROFS;
    return op == Op::kOpenCreate ? SQLITE_CANTOPEN : SQLITE_READONLY;
  }
  switch (op) {
    case Op::kWrite:
      if (all_writes_full_) {
        *err_no = ENOSPC;
        return SQLITE_FULL;
      }
      if (free_bytes_ >= 0 && grow_bytes > 0) {
        if (grow_bytes > free_bytes_) {
          *err_no = ENOSPC;
          return SQLITE_FULL;
        }
        free_bytes_ -= grow_bytes;
      }
      ++writes_;
      return 0;
    case Op::kSync:
      if (sync_fail_after_ == 0 && sync_fail_count_ != 0) {
        if (sync_fail_count_ > 0) --sync_fail_count_;
        *err_no = EIO;
        return SQLITE_IOERR_FSYNC;
      }
      if (sync_fail_after_ > 0) --sync_fail_after_;
      ++syncs_;
      return 0;
    case Op::kRead:
      if (Matches(read_fail_kind_, kind) && read_fail_after_ >= 0) {
        if (read_fail_after_ == 0 && read_fail_count_ != 0) {
          if (read_fail_count_ > 0) --read_fail_count_;
          *err_no = EIO;
          return SQLITE_IOERR_READ;
        }
        if (read_fail_after_ > 0) --read_fail_after_;
      }
      return 0;
    default:
      return 0;
  }
}

void FaultInjectionVfs::RecordUndo(const std::string& path, Undo undo) {
  std::lock_guard<std::mutex> l(mu_);
  undo_[path].push_back(std::move(undo));
}

void FaultInjectionVfs::Synced(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  undo_.erase(path);
}

void FaultInjectionVfs::Deleted(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  undo_.erase(path);
}

void FaultInjectionVfs::DropUnsyncedData(double keep_probability,
                                         uint64_t seed) {
  std::lock_guard<std::mutex> l(mu_);
  std::mt19937_64 rng(seed);
  for (const auto& kv : undo_) {
    RestoreFile(kv.first, kv.second, keep_probability, rng);
  }
  undo_.clear();
  crashed_ = false;
  crash_after_ = -1;
}

void FaultInjectionVfs::ForgetUnsynced() {
  std::lock_guard<std::mutex> l(mu_);
  undo_.clear();
}

}  // namespace testing
}  // namespace store
}  // namespace arbiter
