// Policy I/O: text, JSON and binary encodings of a v1::PolicySet, their
// round trips, the positions in parse errors, the limits and the file
// errors.

#include "arbiter/policy_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// tests/testdata/NAME. CMake passes the directory (__FILE__ may be
// relative to the build directory, e.g. under ccache's base_dir); Bazel runs
// tests from the workspace root, where __FILE__'s directory is right.
std::string TestDataPath(absl::string_view name) {
#ifdef ARBITER_TESTS_DIR
  return absl::StrCat(ARBITER_TESTS_DIR, "/testdata/", name);
#else
  std::string file = __FILE__;
  return absl::StrCat(file.substr(0, file.rfind('/') + 1), "testdata/", name);
#endif
}

// A scratch directory, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/arbiter_policy_io_XXXXXX";
    const char* dir = mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    path_ = dir == nullptr ? "/tmp" : dir;
  }
  ~TempDir() {
    for (const std::string& f : files_) std::remove(f.c_str());
    for (const std::string& d : dirs_) rmdir(d.c_str());
    rmdir(path_.c_str());
  }
  std::string Write(absl::string_view name, absl::string_view data) {
    std::string path = absl::StrCat(path_, "/", name);
    std::ofstream out(path, std::ios::binary);
    out.write(data.data(), data.size());
    files_.push_back(path);
    return path;
  }
  std::string MakeDir(absl::string_view name) {
    std::string path = absl::StrCat(path_, "/", name);
    EXPECT_EQ(mkdir(path.c_str(), 0700), 0);
    dirs_.push_back(path);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_, dirs_;
};

v1::PolicySet Fixture() {
  absl::StatusOr<v1::PolicySet> state =
      LoadPolicySetFile(TestDataPath("rules_org.textproto"));
  EXPECT_THAT(state, IsOk());
  return state.ok() ? *std::move(state) : v1::PolicySet();
}

// ---------------------------------------------------------------------------
// Round trips.

class RoundTripTest : public ::testing::TestWithParam<PolicyFormat> {};

TEST_P(RoundTripTest, SerializeThenParseGivesTheSameState) {
  for (const v1::PolicySet& state : {Fixture(), DemoPolicySet()}) {
    ASSERT_GT(state.grants_size(), 10);
    ASSERT_OK_AND_ASSIGN(std::string data,
                         SerializePolicySet(state, GetParam()));
    ASSERT_OK_AND_ASSIGN(v1::PolicySet back,
                         ParsePolicySet(data, GetParam(), "mem"));
    EXPECT_TRUE(MessageDifferencer::Equals(state, back));
    // Content sniffing finds the format too.
    ASSERT_OK_AND_ASSIGN(v1::PolicySet sniffed,
                         ParsePolicySet(data, PolicyFormat::kAuto, "mem"));
    EXPECT_TRUE(MessageDifferencer::Equals(state, sniffed));
    // Deterministic.
    ASSERT_OK_AND_ASSIGN(std::string again,
                         SerializePolicySet(back, GetParam()));
    EXPECT_EQ(data, again);
  }
}

TEST_P(RoundTripTest, ThroughAFileNamedByItsExtension) {
  const v1::PolicySet state = Fixture();
  ASSERT_OK_AND_ASSIGN(std::string data, SerializePolicySet(state, GetParam()));
  const char* ext = GetParam() == PolicyFormat::kText   ? "textproto"
                    : GetParam() == PolicyFormat::kJson ? "json"
                                                        : "binpb";
  TempDir dir;
  const std::string path = dir.Write(absl::StrCat("state.", ext), data);
  ASSERT_OK_AND_ASSIGN(v1::PolicySet back, LoadPolicySetFile(path));
  EXPECT_TRUE(MessageDifferencer::Equals(state, back));
  // Without an extension, the content decides.
  const std::string bare = dir.Write("state", data);
  ASSERT_OK_AND_ASSIGN(back, LoadPolicySetFile(bare));
  EXPECT_TRUE(MessageDifferencer::Equals(state, back));
  // The loaded state compiles to the same decisions.
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(back));
  EXPECT_EQ(engine->revision(), 42u);
  EXPECT_EQ(engine->num_grants(), static_cast<size_t>(state.grants_size()));
}

INSTANTIATE_TEST_SUITE_P(Formats, RoundTripTest,
                         ::testing::Values(PolicyFormat::kText,
                                           PolicyFormat::kJson,
                                           PolicyFormat::kBinary),
                         [](const ::testing::TestParamInfo<PolicyFormat>& i) {
                           return std::string(PolicyFormatName(i.param));
                         });

TEST(SerializeTest, TextAndJsonAreReadable) {
  v1::PolicySet state;
  state.set_revision(9);
  v1::Cloud* c = state.add_clouds();
  c->set_id("cld_1");
  c->set_org_id("org_1");
  c->set_auto_add_users(true);
  ASSERT_OK_AND_ASSIGN(std::string text,
                       SerializePolicySet(state, PolicyFormat::kText));
  EXPECT_THAT(text, HasSubstr("clouds {"));
  EXPECT_THAT(text, HasSubstr("org_id: \"org_1\""));
  ASSERT_OK_AND_ASSIGN(std::string json,
                       SerializePolicySet(state, PolicyFormat::kJson));
  // Proto field names, not lowerCamelCase; 64-bit integers as strings.
  EXPECT_THAT(json, HasSubstr("\"org_id\": \"org_1\""));
  EXPECT_THAT(json, HasSubstr("\"auto_add_users\": true"));
  EXPECT_THAT(json, HasSubstr("\"revision\": \"9\""));
  // kAuto serializes as text.
  ASSERT_OK_AND_ASSIGN(std::string auto_text,
                       SerializePolicySet(state, PolicyFormat::kAuto));
  EXPECT_EQ(auto_text, text);
}

TEST(ParseTest, JsonAcceptsBothFieldNameSpellings) {
  ASSERT_OK_AND_ASSIGN(v1::PolicySet state,
                       ParsePolicySet(R"({"clouds": [{"id": "c", "orgId": "o",
                                     "auto_add_users": true}]})",
                                      PolicyFormat::kJson));
  ASSERT_EQ(state.clouds_size(), 1);
  EXPECT_EQ(state.clouds(0).org_id(), "o");
  EXPECT_TRUE(state.clouds(0).auto_add_users());
}

TEST(ParseTest, EmptyInputs) {
  EXPECT_THAT(ParsePolicySet("", PolicyFormat::kText), IsOk());
  EXPECT_THAT(ParsePolicySet("", PolicyFormat::kBinary), IsOk());
  EXPECT_THAT(ParsePolicySet("  # only a comment\n", PolicyFormat::kAuto),
              IsOk());
  EXPECT_THAT(ParsePolicySet("", PolicyFormat::kJson, "e.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "e.json:1:1: invalid JSON: unexpected end of input"));
  EXPECT_THAT(ParsePolicySet("{}", PolicyFormat::kJson), IsOk());
}

// ---------------------------------------------------------------------------
// Errors carry the source, and a line and column for text and JSON.

TEST(ParseErrorTest, TextErrorsCarryLineAndColumn) {
  EXPECT_THAT(ParsePolicySet("organizations { id: \"a\" }\n"
                             "clouds { id: \"c\" bogus: 1 }\n",
                             PolicyFormat::kText, "org.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("org.textproto:2:23: "),
                             HasSubstr("no field named \"bogus\""))));
  EXPECT_THAT(ParsePolicySet("organizations { id: \"a\" ", PolicyFormat::kText,
                             "org.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.textproto:1:25: ")));
  EXPECT_THAT(ParsePolicySet("\n\n  revision: -1\n", PolicyFormat::kText),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("<input>:3:13: ")));
  EXPECT_THAT(
      ParsePolicySet("grants { source: GRANT_SOURCE_NOPE }",
                     PolicyFormat::kText, "g"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("g:1:"), HasSubstr("GRANT_SOURCE_NOPE"))));
}

TEST(ParseErrorTest, JsonSyntaxErrorsCarryLineAndColumn) {
  EXPECT_THAT(ParsePolicySet("{\n  \"organizations\": [\n    {\"id\": \"x\",}\n"
                             "  ]\n}\n",
                             PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:3:16: invalid JSON: expected a field name in "
                       "quotes"));
  EXPECT_THAT(ParsePolicySet("{\"revision\": 1 \"clouds\": []}",
                             PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:16: invalid JSON: expected ',' or '}'"));
  EXPECT_THAT(ParsePolicySet("{\"clouds\": [{\"name\": \"a\nb\"}]}",
                             PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:24: invalid JSON: control character in "
                       "string"));
  EXPECT_THAT(ParsePolicySet("{} {}", PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.json:1:4: invalid JSON")));
  EXPECT_THAT(ParsePolicySet("{\"a\": tru}", PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:7: invalid JSON: invalid literal"));
  // Deep nesting is refused, not recursed into.
  EXPECT_THAT(ParsePolicySet(std::string(5000, '[') + std::string(5000, ']'),
                             PolicyFormat::kJson, "deep.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested too deeply")));
}

TEST(ParseErrorTest, JsonSchemaErrorsCarryLineAndColumn) {
  const char kJson[] =
      "{\n"
      "  \"clouds\": [\n"
      "    {\"id\": \"c\", \"orgId\": \"o\",\n"
      "     \"iamMapping\": {\"rules\": [{}, {\"selectr\": \"x\"}]}}\n"
      "  ]\n"
      "}\n";
  EXPECT_THAT(
      ParsePolicySet(kJson, PolicyFormat::kJson, "org.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "org.json:4:36: not a PolicySet in JSON: "
               "(clouds[0].iam_mapping.rules[1]) selectr: Cannot find field."));
  EXPECT_THAT(ParsePolicySet("{\n \"revision\": \"x\"}", PolicyFormat::kJson,
                             "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("org.json:2:2: not a PolicySet in "
                                        "JSON: (revision): invalid value"))));
  EXPECT_THAT(ParsePolicySet("{\"grants\": [{\"id\": \"g\"}, "
                             "{\"source\": \"NOPE\"}]}",
                             PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.json:1:27: not a PolicySet in JSON: "
                                  "(grants[1].source)")));
  // No position to give: the message still names the source.
  EXPECT_THAT(ParsePolicySet("[]", PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.json: not a PolicySet in JSON")));
}

TEST(ParseErrorTest, UnknownJsonFieldsAreRejectedUnlessIgnored) {
  const char kJson[] = "{\"revision\": \"3\",\n \"bogus\": {\"x\": [1, 2]}}";
  EXPECT_THAT(ParsePolicySet(kJson, PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:2:2: not a PolicySet in JSON: bogus: Cannot "
                       "find field."));
  LoadOptions options;
  options.ignore_unknown_json_fields = true;
  ASSERT_OK_AND_ASSIGN(
      v1::PolicySet state,
      ParsePolicySet(kJson, PolicyFormat::kJson, "org.json", options));
  EXPECT_EQ(state.revision(), 3u);
  // The option is for JSON only: text format still rejects unknown fields.
  EXPECT_THAT(ParsePolicySet("bogus: 1", PolicyFormat::kText, "t", options),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("t:1:")));
}

TEST(ParseErrorTest, TruncatedBinary) {
  ASSERT_OK_AND_ASSIGN(std::string data,
                       SerializePolicySet(Fixture(), PolicyFormat::kBinary));
  ASSERT_GT(data.size(), 100u);
  data.pop_back();
  EXPECT_THAT(ParsePolicySet(data, PolicyFormat::kBinary, "org.binpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.binpb: not a PolicySet in binary protobuf "
                       "(truncated or another format?)"));
  // Cut anywhere, it never parses into the original.
  ASSERT_OK_AND_ASSIGN(data,
                       SerializePolicySet(Fixture(), PolicyFormat::kBinary));
  const v1::PolicySet original = Fixture();
  for (size_t cut = 1; cut < data.size(); cut += 7) {
    absl::StatusOr<v1::PolicySet> s = ParsePolicySet(
        absl::string_view(data).substr(0, cut), PolicyFormat::kBinary);
    EXPECT_TRUE(!s.ok() || !MessageDifferencer::Equals(*s, original)) << cut;
  }
}

TEST(ParseErrorTest, GarbageIsNotAPolicySet) {
  const std::string garbage("\xff\xff\xff\xff\x0f\x01\x02", 7);
  EXPECT_THAT(ParsePolicySet(garbage, PolicyFormat::kAuto, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("x: not a PolicySet in binary protobuf")));
  EXPECT_THAT(ParsePolicySet(garbage, PolicyFormat::kJson, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("x:1:1: invalid JSON")));
  EXPECT_THAT(
      ParsePolicySet("organizations { id: \"a\" }", PolicyFormat::kJson, "x"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               StartsWith("x:1:1: invalid JSON")));
}

// ---------------------------------------------------------------------------
// Limits and files.

TEST(LimitTest, ParseRefusesLargerInputs) {
  const std::string data = "revision: 5\n";
  LoadOptions options;
  options.max_bytes = data.size();
  EXPECT_THAT(ParsePolicySet(data, PolicyFormat::kText, "s", options), IsOk());
  options.max_bytes = data.size() - 1;
  EXPECT_THAT(ParsePolicySet(data, PolicyFormat::kText, "s", options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "s: 12 bytes exceeds the limit of 11 "
                       "(LoadOptions::max_bytes)"));
}

TEST(LimitTest, LoadRefusesLargerFiles) {
  TempDir dir;
  const std::string path =
      dir.Write("big.textproto", std::string(200000, ' ') + "revision: 1\n");
  LoadOptions options;
  options.max_bytes = 100000;
  EXPECT_THAT(LoadPolicySetFile(path, PolicyFormat::kAuto, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(StartsWith(path), HasSubstr("100000"),
                             HasSubstr("LoadOptions::max_bytes"))));
  options.max_bytes = 300000;
  ASSERT_OK_AND_ASSIGN(v1::PolicySet state,
                       LoadPolicySetFile(path, PolicyFormat::kAuto, options));
  EXPECT_EQ(state.revision(), 1u);
}

TEST(FileTest, MissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.path() + "/nope.textproto";
  EXPECT_THAT(LoadPolicySetFile(path),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(StartsWith(path), HasSubstr("No such file"))));
}

TEST(FileTest, DirectoryIsRefused) {
  TempDir dir;
  const std::string path = dir.MakeDir("policy.json");
  absl::StatusOr<v1::PolicySet> state = LoadPolicySetFile(path);
  EXPECT_FALSE(state.ok());
  EXPECT_THAT(state, StatusIs(absl::StatusCode::kInvalidArgument,
                              AllOf(StartsWith(path), HasSubstr("directory"))));
}

TEST(FileTest, ErrorsNameTheFile) {
  TempDir dir;
  const std::string text = dir.Write("bad.txtpb", "revision: 1\nnope: 2\n");
  EXPECT_THAT(LoadPolicySetFile(text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith(absl::StrCat(text, ":2:"))));
  // The extension decides the format: text in a .json file is a JSON error.
  const std::string json = dir.Write("bad.json", "revision: 1\n");
  EXPECT_THAT(LoadPolicySetFile(json),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith(absl::StrCat(json, ":1:1: invalid JSON"))));
  // An explicit format wins over the extension.
  ASSERT_OK_AND_ASSIGN(v1::PolicySet state,
                       LoadPolicySetFile(json, PolicyFormat::kText));
  EXPECT_EQ(state.revision(), 1u);
}

// ---------------------------------------------------------------------------
// Format names.

TEST(FormatTest, FormatFromPath) {
  EXPECT_EQ(FormatFromPath("a.textproto"), PolicyFormat::kText);
  EXPECT_EQ(FormatFromPath("a.txtpb"), PolicyFormat::kText);
  EXPECT_EQ(FormatFromPath("a.pbtxt"), PolicyFormat::kText);
  EXPECT_EQ(FormatFromPath("dir/A.TEXTPROTO"), PolicyFormat::kText);
  EXPECT_EQ(FormatFromPath("a.json"), PolicyFormat::kJson);
  EXPECT_EQ(FormatFromPath("/x/y/a.JSON"), PolicyFormat::kJson);
  EXPECT_EQ(FormatFromPath("a.binpb"), PolicyFormat::kBinary);
  EXPECT_EQ(FormatFromPath("a.pb"), PolicyFormat::kBinary);
  EXPECT_EQ(FormatFromPath("a.bin"), PolicyFormat::kBinary);
  EXPECT_EQ(FormatFromPath("a"), PolicyFormat::kAuto);
  EXPECT_EQ(FormatFromPath("a.yaml"), PolicyFormat::kAuto);
  EXPECT_EQ(FormatFromPath("policy.json.d/state"), PolicyFormat::kAuto);
  EXPECT_EQ(FormatFromPath(""), PolicyFormat::kAuto);
}

TEST(FormatTest, ParsePolicyFormat) {
  for (const char* name : {"text", "textproto", "txtpb", "pbtxt", "TEXT"}) {
    EXPECT_THAT(ParsePolicyFormat(name), IsOk()) << name;
    EXPECT_EQ(*ParsePolicyFormat(name), PolicyFormat::kText) << name;
  }
  EXPECT_EQ(*ParsePolicyFormat("json"), PolicyFormat::kJson);
  EXPECT_EQ(*ParsePolicyFormat("Json"), PolicyFormat::kJson);
  for (const char* name : {"binary", "binpb", "pb"}) {
    EXPECT_EQ(*ParsePolicyFormat(name), PolicyFormat::kBinary) << name;
  }
  EXPECT_EQ(*ParsePolicyFormat("auto"), PolicyFormat::kAuto);
  EXPECT_THAT(ParsePolicyFormat("yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown format \"yaml\" (text, json or binary)"));
  EXPECT_THAT(ParsePolicyFormat(""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown format")));
  // Names round-trip.
  for (PolicyFormat f : {PolicyFormat::kAuto, PolicyFormat::kText,
                         PolicyFormat::kJson, PolicyFormat::kBinary}) {
    EXPECT_EQ(*ParsePolicyFormat(PolicyFormatName(f)), f);
  }
}

}  // namespace
}  // namespace arbiter
