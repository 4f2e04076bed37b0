#include "tools/query_runner.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "tools/cli_options.h"
#include "tools/decision_format.h"
#include "tools/query_line.h"

namespace arbiter {
namespace cli {

LineReader::LineReader(int fd, size_t max_line, void (*before_block)(void*),
                       void* before_block_arg)
    : fd_(fd),
      max_line_(max_line),
      before_block_(before_block),
      before_block_arg_(before_block_arg),
      buf_(std::min<size_t>(size_t{1} << 16, max_line + 1)) {}

bool LineReader::Fill() {
  if (eof_) return false;
  if (before_block_ != nullptr) before_block_(before_block_arg_);
  while (true) {
    const ssize_t n = read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("reading the queries: ", std::strerror(errno)));
    }
    eof_ = true;
    return false;
  }
}

bool LineReader::Next(absl::string_view* line, bool* too_long) {
  *too_long = false;
  bool skipping = false;  // inside a line that is too long
  while (true) {
    const char* start = buf_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl != nullptr) {
      const size_t len = static_cast<const char*>(nl) - start;
      begin_ += len + 1;
      if (skipping) {
        *line = absl::string_view();
        *too_long = true;
      } else {
        *line = absl::string_view(start, len);
      }
      return true;
    }
    if (eof_) {
      if (skipping) {
        begin_ = end_;
        *line = absl::string_view();
        *too_long = true;
        return true;
      }
      if (begin_ < end_) {
        *line = absl::string_view(start, end_ - begin_);
        begin_ = end_;
        return true;
      }
      return false;
    }
    // Make room: drop consumed bytes, then grow up to max_line_ + 1 (a line
    // of exactly max_line_ bytes plus its newline fits).
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) {
      if (buf_.size() < max_line_ + 1) {
        buf_.resize(std::min(buf_.size() * 2, max_line_ + 1));
      } else {
        skipping = true;
        end_ = 0;  // forget the partial line
      }
    }
    Fill();  // on EOF the loop returns what is left
  }
}

OutputBuffer::OutputBuffer(int fd) : fd_(fd) {
  buf_.reserve((size_t{1} << 16) + 4096);
}

void OutputBuffer::Flush() {
  size_t done = 0;
  while (status_.ok() && done < buf_.size()) {
    const ssize_t n = write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("writing the decisions: ", std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  buf_.clear();
}

namespace {

void FlushOutput(void* out) { static_cast<OutputBuffer*>(out)->Flush(); }

// Counts a denied decision whose request did not resolve.
void CountUnresolved(Reason reason, QueryStats* stats) {
  switch (reason) {
    case Reason::kUnknownPrincipal:
      ++stats->unknown_principals;
      break;
    case Reason::kAmbiguousPrincipal:
      ++stats->ambiguous_principals;
      break;
    case Reason::kUnknownPermission:
      ++stats->unknown_permissions;
      break;
    case Reason::kUnknownResource:
      ++stats->unknown_resources;
      break;
    case Reason::kUnknownOrg:
      ++stats->unknown_orgs;
      break;
    default:
      break;
  }
}

void AppendError(absl::string_view id_json, uint64_t line_number,
                 absl::string_view message, std::string* out) {
  out->push_back('{');
  if (!id_json.empty()) {
    out->append("\"id\":");
    out->append(id_json.data(), id_json.size());
    out->push_back(',');
  }
  absl::StrAppend(out, "\"line\":", line_number, ",\"error\":");
  AppendJsonString(message, out);
  out->append("}\n");
}

}  // namespace

absl::Status RunQueries(const Engine& engine, int in_fd, int out_fd,
                        const QueryDefaults& defaults, QueryStats* stats) {
  struct timespec cpu_start;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  const absl::Time start = absl::Now();
  const DecisionFormatter formatter(engine);
  OutputBuffer out(out_fd);
  LineReader reader(in_fd, defaults.max_line, &FlushOutput, &out);
  QueryLine q;
  QueryScratch scratch;
  // Most streams carry the same "at" on every line: parse it once.
  std::string last_at_text;
  absl::Time last_at;
  bool have_last_at = false;

  absl::string_view line;
  bool too_long;
  uint64_t line_number = 0;
  while (reader.Next(&line, &too_long) && out.status().ok()) {
    ++line_number;
    if (!too_long && IsBlankLine(line)) continue;
    ++stats->lines;
    absl::Status status;
    AccessRequest request;
    if (too_long) {
      q = QueryLine();
      status = absl::InvalidArgumentError(
          absl::StrCat("line longer than ", defaults.max_line, " bytes"));
    } else {
      status = ParseQueryLine(line, &q, &scratch);
    }
    if (status.ok()) {
      request.principal = q.principal;
      request.permission = q.permission;
      request.resource = q.resource;
      request.org = q.org.empty() ? absl::string_view(defaults.org) : q.org;
      request.context.channel = defaults.channel;
      request.context.now = defaults.at;
      if (!q.channel.empty()) {
        absl::StatusOr<Channel> channel = ParseChannel(q.channel);
        if (channel.ok()) {
          request.context.channel = *channel;
        } else {
          status = absl::InvalidArgumentError(
              absl::StrCat("\"channel\": ", channel.status().message()));
        }
      }
      if (status.ok() && !q.at.empty()) {
        if (!have_last_at || q.at != last_at_text) {
          absl::StatusOr<absl::Time> at = ParseRfc3339(q.at);
          if (at.ok()) {
            last_at_text.assign(q.at.data(), q.at.size());
            last_at = *at;
            have_last_at = true;
          } else {
            status = absl::InvalidArgumentError(
                absl::StrCat("\"at\": ", at.status().message()));
          }
        }
        if (status.ok()) request.context.now = last_at;
      }
    }
    if (!status.ok()) {
      ++stats->malformed;
      if (stats->malformed == 1) {
        stats->first_malformed_line = line_number;
        stats->first_error = std::string(status.message());
      }
      AppendError(q.id, line_number, status.message(), out.buffer());
      out.MaybeFlush();
      continue;
    }
    const Decision d = engine.Check(request);
    ++stats->decisions;
    stats->allowed += d.allowed();
    if (!d.allowed()) CountUnresolved(d.reason, stats);
    formatter.AppendJson(d, q.id, out.buffer());
    out.MaybeFlush();
  }
  out.Flush();
  stats->elapsed = absl::Now() - start;
  struct timespec cpu_end;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
  stats->cpu = absl::DurationFromTimespec(cpu_end) -
               absl::DurationFromTimespec(cpu_start);
  if (!reader.status().ok()) return reader.status();
  return out.status();
}

}  // namespace cli
}  // namespace arbiter
