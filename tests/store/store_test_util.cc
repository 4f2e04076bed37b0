#include "tests/store/store_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace arbiter {
namespace store {
namespace testing {

ScratchDir::ScratchDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr && *base ? base : "/tmp",
                                  "/arbiter-", prefix, "-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "mkdtemp %s: %s\n", tmpl.c_str(),
                 std::strerror(errno));
    std::abort();
  }
  path_ = buf.data();
}

ScratchDir::~ScratchDir() {
  if (std::getenv("ARBITER_STORE_KEEP_TMP") == nullptr) RemoveTree(path_);
}

void RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        RemoveTree(path + "/" + name);
      }
      ::closedir(d);
    }
    ::rmdir(path.c_str());
  } else {
    ::unlink(path.c_str());
  }
}

absl::Status CopyTree(const std::string& from, const std::string& to) {
  ::mkdir(to.c_str(), 0755);
  DIR* d = ::opendir(from.c_str());
  if (d == nullptr) return absl::NotFoundError(from);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string src = from + "/" + name;
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    WriteFileOrDie(to + "/" + name, ReadFileOrDie(src));
  }
  ::closedir(d);
  return absl::OkStatus();
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out;
  if (v != nullptr && absl::SimpleAtoi(v, &out)) return out;
  return fallback;
}

std::string RandomBytes(uint64_t seed, size_t size) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, std::min<size_t>(8, size - i));
  }
  return out;
}

std::string PayloadFor(uint64_t seed, uint64_t revision, size_t min_size,
                       size_t max_size) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + revision);
  std::uniform_int_distribution<size_t> size(min_size, max_size);
  std::string p = absl::StrCat("rev=", revision, ";");
  const size_t n = size(rng);
  p += RandomBytes(rng(), n > p.size() ? n - p.size() : 0);
  return p;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFileOrDie(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

bool FileExists(const std::string& path) { return FileSize(path) >= 0; }

std::map<std::string, std::string> SnapshotFiles(const std::string& dir) {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || absl::EndsWith(name, "-shm")) continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out[name] = ReadFileOrDie(path);
  }
  ::closedir(d);
  return out;
}

absl::StatusOr<LogContents> ReadContents(DurableLog& log) {
  LogContents c;
  absl::StatusOr<absl::optional<Checkpoint>> cp = log.LatestCheckpoint();
  if (!cp.ok()) return cp.status();
  c.checkpoint = std::move(*cp);
  const uint64_t base = c.checkpoint.has_value() ? c.checkpoint->revision : 0;
  c.last_revision = base;
  absl::Status s = log.ReadEntries(base, [&](const LogEntry& e) {
    c.entries[e.revision] = e.payload;
    c.last_revision = e.revision;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return c;
}

absl::StatusOr<LogContents> OpenAndRead(const std::string& dir,
                                        DurableLogOptions options) {
  absl::StatusOr<std::unique_ptr<DurableLog>> log =
      DurableLog::Open(dir, options);
  if (!log.ok()) return log.status();
  absl::StatusOr<LogContents> c = ReadContents(**log);
  if (!c.ok()) return c.status();
  if (c->last_revision != (*log)->last_revision()) {
    return absl::InternalError(
        absl::StrCat("recovery view ends at ", c->last_revision,
                     " but last_revision() is ", (*log)->last_revision()));
  }
  absl::Status v = (*log)->Verify();
  if (!v.ok()) return v;
  return c;
}

}  // namespace testing
}  // namespace store
}  // namespace arbiter
