// Helpers shared by the store's tests: scratch directories, deterministic
// payloads, file snapshots and damage (flips, truncation), and reading a
// whole log back.

#ifndef ARBITER_TESTS_STORE_STORE_TEST_UTIL_H_
#define ARBITER_TESTS_STORE_STORE_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "src/store/durable_log.h"

namespace arbiter {
namespace store {
namespace testing {

// A fresh directory under $TEST_TMPDIR (or /tmp), removed with everything
// in it on destruction (unless ARBITER_STORE_KEEP_TMP is set).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "store");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void RemoveTree(const std::string& path);
absl::Status CopyTree(const std::string& from, const std::string& to);

// An integer from the environment, or `fallback`.
int64_t EnvInt(const char* name, int64_t fallback);

// Deterministic pseudo-random bytes for (seed, revision): the payload an
// entry of that revision carries in the randomized tests, so a reader can
// tell the exact expected bytes from the revision alone. Its size is drawn
// from [min_size, max_size].
std::string PayloadFor(uint64_t seed, uint64_t revision, size_t min_size,
                       size_t max_size);
std::string RandomBytes(uint64_t seed, size_t size);

// Every regular file of `dir` (not the -shm index) -> its content.
std::map<std::string, std::string> SnapshotFiles(const std::string& dir);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& content);
int64_t FileSize(const std::string& path);  // -1 if missing
bool FileExists(const std::string& path);

// The whole recovery view of a log.
struct LogContents {
  absl::optional<Checkpoint> checkpoint;
  std::map<uint64_t, std::string> entries;  // after the checkpoint
  uint64_t last_revision = 0;
};
absl::StatusOr<LogContents> ReadContents(DurableLog& log);

// Opens, reads the recovery view, Verify()s, closes.
absl::StatusOr<LogContents> OpenAndRead(const std::string& dir,
                                        DurableLogOptions options);

}  // namespace testing
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_TESTS_STORE_STORE_TEST_UTIL_H_
