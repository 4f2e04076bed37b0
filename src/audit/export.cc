// The export directory (access-model §9's layout): writing an
// organization's files, reading them back, and verifying them.

#include "src/audit/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/audit/format.h"
#include "src/audit/record_check.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace fs = std::filesystem;

namespace {

constexpr absl::string_view kSuffix = ".log.jsonl";

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int e = errno;
  return absl::Status(e == EEXIST ? absl::StatusCode::kAlreadyExists
                                  : absl::StatusCode::kUnavailable,
                      absl::StrCat(what, " ", path, ": ", std::strerror(e)));
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir);
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync directory", dir);
  return absl::OkStatus();
}

// Writes `data` to `path` through a synced temporary file linked into
// place: the file appears whole or not at all, and never replaces another.
absl::Status WriteNewFile(const std::string& path, absl::string_view data) {
  const fs::path p(path);
  const std::string tmp =
      (p.parent_path() /
       absl::StrCat(".", p.filename().string(), ".tmp-", getpid()))
          .string();
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = ErrnoStatus("cannot write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    absl::Status s = ErrnoStatus("cannot sync", tmp);
    close(fd);
    unlink(tmp.c_str());
    return s;
  }
  close(fd);
  if (link(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoStatus("cannot create", path);
    unlink(tmp.c_str());
    return s;
  }
  unlink(tmp.c_str());
  return SyncDirectory(p.parent_path().string());
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          size_t max_bytes) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": ", ec.message()));
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", size, " bytes, over the limit of ", max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return ss.str();
}

// One record read from an export, and where.
struct Entry {
  v1::AuditRecord record;
  std::string file;  // relative to the verified directory
  int line = 0;
  int64_t file_time = 0;  // T of <T>.log.jsonl
};

struct OrgDir {
  std::string org_id;
  fs::path path;
  std::string prefix;  // relative path of the org directory ("" or "org/")
};

// The organizations under `dir`: `dir` itself when it holds audit_logs/,
// else its subdirectories that do. NotFound when `dir` is not a directory.
absl::StatusOr<std::vector<OrgDir>> FindOrgs(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  }
  std::vector<OrgDir> orgs;
  if (fs::is_directory(fs::path(dir) / "audit_logs", ec)) {
    const fs::path canonical = fs::canonical(dir, ec);
    if (ec) return absl::NotFoundError(absl::StrCat(dir, ": ", ec.message()));
    orgs.push_back({canonical.filename().string(), fs::path(dir), ""});
    return orgs;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (fs::is_directory(e.path() / "audit_logs", ec)) {
      orgs.push_back({name, e.path(), name + "/"});
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat(dir, ": ", ec.message()));
  std::sort(orgs.begin(), orgs.end(), [](const OrgDir& a, const OrgDir& b) {
    return a.org_id < b.org_id;
  });
  return orgs;
}

// A problem at a place, as the first problem of a verification.
AuditProblem ProblemAt(const Entry& e, std::string what) {
  AuditProblem p;
  p.org_id = e.record.org_id();
  p.sequence = e.record.sequence();
  p.file = e.file;
  p.line = e.line;
  p.what = std::move(what);
  return p;
}

AuditProblem FileProblem(const std::string& org, const std::string& file,
                         int line, std::string what) {
  AuditProblem p;
  p.org_id = org;
  p.file = file;
  p.line = line;
  p.what = std::move(what);
  return p;
}

// Reads one organization's files into `entries` (in directory order:
// entity, then T). Returns an I/O error status, or sets *problem for
// content that is not a well-placed, parseable record.
absl::Status ReadOrg(const OrgDir& org, size_t max_file_bytes,
                     std::vector<Entry>* entries,
                     absl::optional<AuditProblem>* problem) {
  const fs::path logs = org.path / "audit_logs";
  std::error_code ec;
  std::vector<fs::path> entity_dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(logs, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!e.is_directory(ec)) {
      *problem = FileProblem(org.org_id,
                             absl::StrCat(org.prefix, "audit_logs/", name), 0,
                             "unexpected file (audit_logs/ holds one "
                             "directory per entity)");
      return absl::OkStatus();
    }
    entity_dirs.push_back(e.path());
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat(logs.string(), ": ", ec.message()));
  }
  std::sort(entity_dirs.begin(), entity_dirs.end());
  for (const fs::path& entity_dir : entity_dirs) {
    const std::string entity = entity_dir.filename().string();
    const std::string rel_dir =
        absl::StrCat(org.prefix, "audit_logs/", entity, "/");
    std::vector<std::pair<int64_t, std::string>> files;
    for (const fs::directory_entry& e :
         fs::directory_iterator(entity_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      int64_t t = 0;
      const absl::string_view stem =
          absl::string_view(name).substr(0, name.size() - kSuffix.size());
      if (!absl::EndsWith(name, kSuffix) || stem.empty() || stem.size() > 18 ||
          !std::all_of(stem.begin(), stem.end(),
                       [](char c) { return c >= '0' && c <= '9'; }) ||
          !absl::SimpleAtoi(stem, &t) || !e.is_regular_file(ec)) {
        *problem = FileProblem(org.org_id, rel_dir + name, 0,
                               "unexpected file (expected <unix "
                               "seconds>.log.jsonl)");
        return absl::OkStatus();
      }
      files.push_back({t, name});
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat(entity_dir.string(), ": ", ec.message()));
    }
    std::sort(files.begin(), files.end());
    for (const auto& [t, name] : files) {
      const std::string rel = rel_dir + name;
      absl::StatusOr<std::string> data =
          ReadWholeFile((entity_dir / name).string(), max_file_bytes);
      if (!data.ok()) return data.status();
      if (data->empty()) {
        *problem = FileProblem(org.org_id, rel, 0, "empty file");
        return absl::OkStatus();
      }
      absl::string_view rest = *data;
      int line = 0;
      uint64_t previous = 0;
      int previous_line = 0;
      while (!rest.empty()) {
        ++line;
        const size_t nl = rest.find('\n');
        if (nl == absl::string_view::npos) {
          *problem = FileProblem(org.org_id, rel, line,
                                 "the last line has no newline (the file was "
                                 "cut off?)");
          return absl::OkStatus();
        }
        const absl::string_view text = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        const std::string where = absl::StrCat(rel, ":", line);
        absl::StatusOr<v1::AuditRecord> r = AuditRecordFromJson(text, where);
        if (!r.ok()) {
          // The message starts with "FILE:LINE: " (or FILE:LINE:COL from
          // the scanner); keep the part after the position.
          std::string what(r.status().message());
          if (absl::StartsWith(what, where)) what.erase(0, where.size());
          if (absl::StartsWith(what, ":")) {
            // ":COL: ..." from the strict scanner, or ": ...".
            const size_t space = what.find(' ');
            what = space == std::string::npos ? what : what.substr(space + 1);
          }
          *problem = FileProblem(org.org_id, rel, line,
                                 absl::StrCat("not a record: ", what));
          return absl::OkStatus();
        }
        Entry e{*std::move(r), rel, line, t};
        const v1::AuditRecord& rec = e.record;
        if (rec.org_id() != org.org_id) {
          *problem = ProblemAt(
              e, absl::StrCat("org_id ", Quote(rec.org_id()),
                              " in the directory of ", Quote(org.org_id)));
          return absl::OkStatus();
        }
        if (absl::AsciiStrToLower(rec.entity()) != entity ||
            !IsAuditName(rec.entity())) {
          *problem =
              ProblemAt(e, absl::StrCat("entity ", Quote(rec.entity()),
                                        " in the directory ", Quote(entity)));
          return absl::OkStatus();
        }
        if (rec.sequence() <= previous) {
          *problem =
              ProblemAt(e, absl::StrCat("out of order: follows sequence ",
                                        previous, " at line ", previous_line));
          return absl::OkStatus();
        }
        previous = rec.sequence();
        previous_line = line;
        entries->push_back(std::move(e));
      }
    }
  }
  return absl::OkStatus();
}

// Reads every organization of `dir`; entries grouped by organization, each
// group sorted by sequence (stable: ties keep the reading order).
absl::Status ReadExport(const std::string& dir, size_t max_file_bytes,
                        std::vector<std::vector<Entry>>* orgs_entries,
                        absl::optional<AuditProblem>* problem) {
  absl::StatusOr<std::vector<OrgDir>> orgs = FindOrgs(dir);
  if (!orgs.ok()) return orgs.status();
  if (orgs->empty()) {
    *problem = FileProblem("", dir, 0,
                           "no audit logs here (expected ORG/audit_logs/ or "
                           "audit_logs/)");
    return absl::OkStatus();
  }
  for (const OrgDir& org : *orgs) {
    std::vector<Entry> entries;
    absl::Status s = ReadOrg(org, max_file_bytes, &entries, problem);
    if (!s.ok() || problem->has_value()) return s;
    if (entries.empty()) {
      *problem = FileProblem(org.org_id, org.prefix + "audit_logs", 0,
                             "no audit records (every file removed?)");
      return absl::OkStatus();
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) {
                       return a.record.sequence() < b.record.sequence();
                     });
    orgs_entries->push_back(std::move(entries));
  }
  return absl::OkStatus();
}

// The checks of one organization's chain, in sequence order.
absl::optional<AuditProblem> VerifyOrg(const std::vector<Entry>& entries,
                                       const AuditVerifyOptions& options,
                                       AuditVerification* v) {
  AuditChainState state;
  size_t segment_start = 0;  // first entry after the last export checkpoint
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (i > 0 && e.record.sequence() == entries[i - 1].record.sequence()) {
      return ProblemAt(
          e, absl::StrCat("appears twice: also at ", entries[i - 1].file, ":",
                          entries[i - 1].line));
    }
    std::string what = CheckNextAuditRecord(e.record, options, &state, v);
    if (!what.empty()) return ProblemAt(e, std::move(what));
    const v1::AuditRecord& r = e.record;
    if (r.has_checkpoint() &&
        r.checkpoint().reason() == kCheckpointReasonExport) {
      // Every record since the previous export belongs to this export's
      // files, and this checkpoint ends them.
      const int64_t t = r.checkpoint().export_time();
      for (size_t j = segment_start; j <= i; ++j) {
        if (entries[j].file_time != t) {
          return ProblemAt(
              entries[j],
              absl::StrCat("in the files of export ", entries[j].file_time,
                           ", but the export that covers it (checkpoint at "
                           "sequence ",
                           r.sequence(), ") is ", t));
        }
      }
      segment_start = i + 1;
      v->last_export_time[r.org_id()] = t;
    }
  }
  if (segment_start < entries.size()) {
    const Entry& last = entries.back();
    return ProblemAt(
        last,
        absl::StrCat(
            "the log ends here without an export checkpoint "
            "(its end was cut off, or records were added "
            "after the last export); last export checkpoint: ",
            segment_start == 0
                ? std::string("none")
                : absl::StrCat("sequence ",
                               entries[segment_start - 1].record.sequence())));
  }
  if (!options.public_keys.empty() && !state.seen_signed) {
    return ProblemAt(entries.back(),
                     "no checkpoint is signed (an unsigned log, or its "
                     "signatures were removed)");
  }
  return absl::nullopt;
}

}  // namespace

std::string AuditExportPath(absl::string_view org_id, absl::string_view entity,
                            int64_t export_time) {
  return absl::StrCat(org_id, "/audit_logs/", absl::AsciiStrToLower(entity),
                      "/", export_time, kSuffix);
}

absl::StatusOr<std::vector<std::string>> WriteAuditExportFiles(
    const std::string& dir, absl::string_view org_id, int64_t export_time,
    absl::Span<const v1::AuditRecord* const> records) {
  // Entity -> lines, in sequence order.
  std::map<std::string, std::string> files;
  for (const v1::AuditRecord* r : records) {
    std::string& data =
        files[AuditExportPath(org_id, r->entity(), export_time)];
    data.append(AuditRecordToJson(*r));
    data.push_back('\n');
  }
  std::vector<std::string> written;
  for (const auto& [rel, data] : files) {
    const fs::path path = fs::path(dir) / rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      RemoveAuditExportFiles(written);
      return absl::UnavailableError(absl::StrCat(
          "cannot create ", path.parent_path().string(), ": ", ec.message()));
    }
    absl::Status s = WriteNewFile(path.string(), data);
    if (!s.ok()) {
      RemoveAuditExportFiles(written);
      return s;
    }
    written.push_back(path.string());
  }
  return written;
}

void RemoveAuditExportFiles(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) unlink(p.c_str());
}

}  // namespace internal

absl::StatusOr<AuditVerification> VerifyAuditExport(
    const std::string& dir, const AuditVerifyOptions& options) {
  AuditVerification v;
  std::vector<std::vector<internal::Entry>> orgs;
  absl::Status s =
      internal::ReadExport(dir, options.max_file_bytes, &orgs, &v.problem);
  if (!s.ok()) return s;
  for (const auto& entries : orgs) {
    if (v.problem.has_value()) break;
    v.problem = internal::VerifyOrg(entries, options, &v);
  }
  internal::FinishAuditVerification(options, &v);
  return v;
}

absl::StatusOr<std::vector<v1::AuditRecord>> ReadAuditExport(
    const std::string& dir) {
  std::vector<std::vector<internal::Entry>> orgs;
  absl::optional<AuditProblem> problem;
  absl::Status s = internal::ReadExport(dir, size_t{1} << 30, &orgs, &problem);
  if (!s.ok()) return s;
  if (problem.has_value()) {
    return absl::InvalidArgumentError(problem->ToString());
  }
  std::vector<v1::AuditRecord> out;
  for (auto& entries : orgs) {
    for (auto& e : entries) out.push_back(std::move(e.record));
  }
  return out;
}

}  // namespace arbiter
