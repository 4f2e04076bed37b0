// The arbiter command's JSON inputs are strict: policy files and test suites
// with a key named twice are refused with its line, column and path, and a
// UTF-8 byte order mark at the start of a text or JSON file is ignored.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/state_loader.h"
#include "tools/test_suite.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kBom[] = "\xEF\xBB\xBF";

// A file in a scratch directory, removed at the end of the test.
class TempFile {
 public:
  TempFile(absl::string_view name, absl::string_view data) {
    char dir[] = "/tmp/arbiter_json_inputs_XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = absl::StrCat(dir_, "/", name);
    std::ofstream out(path_, std::ios::binary);
    out.write(data.data(), data.size());
  }
  ~TempFile() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

TEST(JsonInputsTest, PolicyFileWithADuplicateKeyIsRefused) {
  EXPECT_THAT(
      cli::ParseStateData("{\"grants\": [{\"id\": \"g1\",\n"
                          "  \"role\": \"org_owner\", \"role\": \"x\"}]}",
                          "org.json", {}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "org.json:2:24: invalid JSON: duplicate key \"role\" at "
               "grants[0].role (first at 2:3)"));
  // Content sniffing (no extension) reaches the same check.
  EXPECT_THAT(
      cli::ParseStateData("{\"revision\": \"1\", \"revision\": \"2\"}", "-",
                          {}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               StartsWith("<stdin>:1:19: invalid JSON: duplicate key")));
}

TEST(JsonInputsTest, JsonSuiteWithADuplicateKeyIsRefused) {
  TempFile suite("suite.json",
                 "{\"demo\": true,\n"
                 " \"cases\": [{\"principal\": \"a\", \"permission\": \"p\",\n"
                 "            \"resource\": \"r\", \"expect\": \"ALLOW\",\n"
                 "            \"expect\": \"DENY\"}]}\n");
  EXPECT_THAT(cli::LoadSuite(suite.path(), PolicyFormat::kAuto, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       absl::StrCat(suite.path(),
                                    ":4:13: invalid JSON: duplicate key "
                                    "\"expect\" at cases[0].expect (first at "
                                    "3:30)")));
  // Two spellings of one field, and of a map key.
  TempFile spellings("s.json",
                     "{\"demo\": true, \"iam_cases\": [], \"iamCases\": []}");
  EXPECT_THAT(cli::LoadSuite(spellings.path(), PolicyFormat::kAuto, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"iamCases\" at iam_cases")));
  TempFile options(
      "o.json", "{\"demo\": true, \"options\": {\"k\": \"1\", \"k\": \"2\"}}");
  EXPECT_THAT(cli::LoadSuite(options.path(), PolicyFormat::kAuto, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"k\" at options[\"k\"]")));
  // Protobuf's own errors get a position now too.
  TempFile unknown("u.json", "{\"demo\": true,\n \"cases\": [{\"bogus\": 1}]}");
  EXPECT_THAT(cli::LoadSuite(unknown.path(), PolicyFormat::kAuto, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith(absl::StrCat(unknown.path(),
                                               ":2:13: not a TestSuite in "
                                               "JSON: "))));
}

TEST(JsonInputsTest, ByteOrderMarkIsIgnored) {
  EXPECT_EQ(cli::DetectFormat("state", absl::StrCat(kBom, " {}")),
            PolicyFormat::kJson);
  for (const char* name : {"org.json", "-"}) {
    absl::StatusOr<cli::LoadedState> json = cli::ParseStateData(
        absl::StrCat(kBom, "{\"revision\": \"3\"}"), name, {});
    ASSERT_THAT(json, IsOk());
    EXPECT_EQ(json->state.revision(), 3u);
  }
  cli::StateLoadOptions keep;
  keep.keep_text = true;
  absl::StatusOr<cli::LoadedState> text = cli::ParseStateData(
      absl::StrCat(kBom, "revision: 4\n"), "org.textproto", keep);
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->state.revision(), 4u);
  EXPECT_EQ(text->text, "revision: 4\n");  // kept without the mark

  TempFile json_suite("suite.json", absl::StrCat(kBom, "{\"demo\": true}"));
  EXPECT_THAT(cli::LoadSuite(json_suite.path(), PolicyFormat::kAuto, 1 << 20),
              IsOk());
  TempFile text_suite(
      "suite.textproto",
      absl::StrCat(kBom, "demo: true\ncases { principal: \"a\" }\n"));
  absl::StatusOr<cli::LoadedSuite> loaded =
      cli::LoadSuite(text_suite.path(), PolicyFormat::kAuto, 1 << 20);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_TRUE(loaded->suite.demo());
  // The text locator still reads the file: cases[0] is on line 2.
  EXPECT_EQ(loaded->Where("cases[0]"), absl::StrCat(text_suite.path(), ":2"));
}

}  // namespace
}  // namespace arbiter
