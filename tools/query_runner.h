// `arbiter check --queries`: reads JSON Lines requests, decides each one and
// writes one JSON Lines decision per request, streaming. Memory stays flat in
// the number of queries: one input buffer (grown up to the longest line), one
// output buffer, reused scratch strings.
//
// Output is buffered and flushed whenever the input would block, so a
// process that writes one query and waits for its answer gets it at once,
// while a file of queries is answered in large writes.

#ifndef ARBITER_TOOLS_QUERY_RUNNER_H_
#define ARBITER_TOOLS_QUERY_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/engine.h"
#include "arbiter/request.h"

namespace arbiter {
namespace cli {

// Reads newline-terminated lines from a file descriptor.
class LineReader {
 public:
  // Lines longer than `max_line` bytes are reported as too long and
  // skipped. `before_block` (may be null) is called before every read(2).
  LineReader(int fd, size_t max_line, void (*before_block)(void*),
             void* before_block_arg);

  // The next line, without its '\n'. Returns false at the end of the input
  // or on a read error (see status()). A line that was too long comes back
  // empty with *too_long set.
  bool Next(absl::string_view* line, bool* too_long);
  const absl::Status& status() const { return status_; }

 private:
  bool Fill();  // reads more; false at EOF or error

  int fd_;
  size_t max_line_;
  void (*before_block_)(void*);
  void* before_block_arg_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  absl::Status status_;
};

// Buffers output for a file descriptor.
class OutputBuffer {
 public:
  explicit OutputBuffer(int fd);
  std::string* buffer() { return &buf_; }
  // Flushes when more than `threshold` bytes are pending.
  void MaybeFlush(size_t threshold = size_t{1} << 16) {
    if (buf_.size() >= threshold) Flush();
  }
  void Flush();
  // Not OK after a failed write; later writes are dropped.
  const absl::Status& status() const { return status_; }

 private:
  int fd_;
  std::string buf_;
  absl::Status status_;
};

// Defaults for queries that leave a field out (the command's flags).
struct QueryDefaults {
  std::string org;
  Channel channel = Channel::kApi;
  absl::optional<absl::Time> at;
  // Lines longer than this are malformed.
  size_t max_line = size_t{1} << 20;
};

struct QueryStats {
  uint64_t lines = 0;      // non-blank lines
  uint64_t decisions = 0;  // lines decided
  uint64_t allowed = 0;
  uint64_t malformed = 0;  // lines answered with an error object
  uint64_t first_malformed_line = 0;
  std::string first_error;
  // Decided lines whose request named what the state lacks, by reason (the
  // row is still written, with its DENY).
  uint64_t unknown_principals = 0;    // UNKNOWN_PRINCIPAL
  uint64_t ambiguous_principals = 0;  // AMBIGUOUS_PRINCIPAL
  uint64_t unknown_permissions = 0;   // UNKNOWN_PERMISSION
  uint64_t unknown_resources = 0;     // UNKNOWN_RESOURCE
  uint64_t unknown_orgs = 0;          // UNKNOWN_ORG
  uint64_t unresolved() const {
    return unknown_principals + ambiguous_principals + unknown_permissions +
           unknown_resources + unknown_orgs;
  }
  absl::Duration elapsed;  // wall time of the whole loop
  absl::Duration cpu;      // CPU time of the calling thread in the loop
};

// Runs the loop until the end of `in_fd`. Returns a non-OK status only when
// reading or writing failed; malformed lines and requests naming unknown
// things are counted in `stats`.
absl::Status RunQueries(const Engine& engine, int in_fd, int out_fd,
                        const QueryDefaults& defaults, QueryStats* stats);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_QUERY_RUNNER_H_
