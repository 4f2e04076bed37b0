#include "src/store/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "src/store/record_hash.h"

namespace arbiter {
namespace store {
namespace internal {

namespace {

constexpr size_t kRecordSize = 256;
constexpr absl::string_view kMagic = "arbiter-store-lock v1";

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

std::string CheckOf(absl::string_view text) {
  Digest d = Sha256(text);
  return Hex(d, 8);
}

}  // namespace

int InjectedErrno(const OsFaultHook& hook, absl::string_view operation,
                  const std::string& path) {
  return hook ? hook(operation, path) : 0;
}

std::string LockFile::Format(const LockRecord& r) {
  std::string text = absl::StrFormat(
      "%s pid=%d store=%s revision=%d head=%s sync=%s", kMagic, r.pid,
      r.store_id_hex, r.revision, r.head_hex, r.synced ? "full" : "normal");
  absl::StrAppend(&text, " check=", CheckOf(text), "\n");
  return text;
}

absl::optional<LockRecord> LockFile::Parse(absl::string_view text) {
  size_t newline = text.find('\n');
  if (newline == absl::string_view::npos) return absl::nullopt;
  absl::string_view line = text.substr(0, newline);
  size_t check_pos = line.rfind(" check=");
  if (check_pos == absl::string_view::npos) return absl::nullopt;
  absl::string_view body = line.substr(0, check_pos);
  if (line.substr(check_pos + 7) != CheckOf(body)) return absl::nullopt;
  if (!absl::StartsWith(body, kMagic)) return absl::nullopt;
  LockRecord r;
  int found = 0;
  for (absl::string_view field :
       absl::StrSplit(body.substr(kMagic.size()), ' ', absl::SkipEmpty())) {
    size_t eq = field.find('=');
    if (eq == absl::string_view::npos) return absl::nullopt;
    absl::string_view key = field.substr(0, eq);
    absl::string_view value = field.substr(eq + 1);
    if (key == "pid") {
      if (!absl::SimpleAtoi(value, &r.pid)) return absl::nullopt;
    } else if (key == "store") {
      r.store_id_hex = std::string(value);
    } else if (key == "revision") {
      if (!absl::SimpleAtoi(value, &r.revision)) return absl::nullopt;
    } else if (key == "head") {
      r.head_hex = std::string(value);
    } else if (key == "sync") {
      if (value != "full" && value != "normal") return absl::nullopt;
      r.synced = value == "full";
    } else {
      continue;  // a later version's field
    }
    ++found;
  }
  if (found != 5) return absl::nullopt;
  return r;
}

absl::optional<LockRecord> LockFile::Read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::nullopt;
  char buf[kRecordSize];
  ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  ::close(fd);
  if (n <= 0) return absl::nullopt;
  return Parse(absl::string_view(buf, static_cast<size_t>(n)));
}

absl::StatusOr<std::unique_ptr<LockFile>> LockFile::Acquire(
    const std::string& path, const OsFaultHook& hook) {
  if (int err = InjectedErrno(hook, "open_lock", path)) {
    return ErrnoStatus(err, absl::StrCat(path, ": cannot open the lock file"));
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ErrnoStatus(errno,
                       absl::StrCat(path, ": cannot open the lock file"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      absl::optional<LockRecord> holder = Read(path);
      std::string who = "another process";
      if (holder.has_value() && holder->pid > 0) {
        who = holder->pid == ::getpid()
                  ? absl::StrCat("this process (pid ", holder->pid,
                                 "; another DurableLog of the same directory)")
                  : absl::StrCat("pid ", holder->pid);
      }
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": the store is open for writing by ", who,
          "; only one writer per directory (open it read-only, or stop that "
          "writer)"));
    }
    return ErrnoStatus(err, absl::StrCat(path, ": cannot lock"));
  }
  return std::unique_ptr<LockFile>(new LockFile(fd, path, hook));
}

LockFile::~LockFile() { ::close(fd_); }

absl::Status LockFile::Write(const LockRecord& record) {
  if (int err = InjectedErrno(hook_, "write_lock", path_)) {
    return ErrnoStatus(err, absl::StrCat(path_, ": cannot write"));
  }
  std::string text = Format(record);
  if (text.size() > kRecordSize) {
    return absl::InternalError(absl::StrCat(path_, ": record too long"));
  }
  text.resize(kRecordSize, ' ');
  text.back() = '\n';
  ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(n < 0 ? errno : EIO,
                       absl::StrCat(path_, ": cannot write"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace store
}  // namespace arbiter
