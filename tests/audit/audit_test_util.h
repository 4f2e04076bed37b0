// Helpers for the audit tests: records of a typical admin session, scratch
// directories, and line-level edits of exported files.

#ifndef ARBITER_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define ARBITER_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "arbiter/audit.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace audit_testing {

// A record of `org` by usr_alice: action/entity/resource as given.
inline v1::AuditRecord Rec(absl::string_view org, absl::string_view action,
                           absl::string_view entity, absl::string_view resource,
                           uint64_t revision) {
  return NewAuditRecord(
      AuditActor{"usr_alice", "Alice", "alice@acme.com", "10.0.0.7"},
      AuditEvent{org, action, entity, resource, revision}, {{"id", resource}});
}

// The i-th record of a session cycling through a few entities, so that an
// export has several entity files.
inline v1::AuditRecord SessionRecord(absl::string_view org, int i) {
  static const char* const kEntities[] = {
      audit_entity::kUser, audit_entity::kCloud, audit_entity::kProject,
      audit_entity::kServiceAccount};
  static const char* const kActions[] = {
      audit_action::kInvite, audit_action::kCreate, audit_action::kGrant,
      audit_action::kDelete};
  v1::AuditRecord r = Rec(org, kActions[i % 4], kEntities[i % 4],
                          absl::StrCat("res_", i), 100 + i);
  if (i % 4 == 0)
    SetAuditMetadata(&r, "invitee_email", absl::StrCat("u", i, "@acme.com"));
  if (i % 5 == 0) SetAuditMetadataBool(&r, "is_enabled", i % 2 == 0);
  if (i % 7 == 0) SetAuditMetadataNumber(&r, "duration", 0.1 * i);
  return r;
}

// A fresh, empty directory under the test's temporary directory.
inline std::string ScratchDir(absl::string_view name) {
  static int counter = 0;
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("arbiter_audit_", name, "_", getpid(), "_", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// The lines of a file (without their newlines).
inline std::vector<std::string> ReadLines(const std::string& path) {
  std::string data = ReadFile(path);
  if (!data.empty() && data.back() == '\n') data.pop_back();
  if (data.empty()) return {};
  return absl::StrSplit(data, '\n');
}

inline void WriteLines(const std::string& path,
                       const std::vector<std::string>& lines) {
  std::string data;
  for (const std::string& l : lines) absl::StrAppend(&data, l, "\n");
  WriteFile(path, data);
}

// Every file of an export, relative to `dir`, sorted.
inline std::vector<std::string> ExportFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      out.push_back(std::filesystem::relative(e.path(), dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace audit_testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
