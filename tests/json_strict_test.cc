// Strict JSON (src/io/json_scan.h): a key named twice in one object is
// refused, at any depth and in any spelling protobuf's JSON parser takes for
// the same field, because protobuf would merge what jq and Python show as
// one. Also: the byte order mark, leading zeros, NUL bytes and depth.

#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/policy_io.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/test_suite.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "src/io/json_scan.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status Load(absl::string_view json) {
  return ParsePolicySet(json, PolicyFormat::kJson, "org.json").status();
}

constexpr char kOrg[] =
    R"("organizations": [{"id": "org_1", "name": "acme"}],
  "clouds": [{"id": "cld_1", "orgId": "org_1", "name": "prod"}],
  "projects": [{"id": "prj_1", "cloudId": "cld_1", "name": "default",
                "isDefault": true}],
  "principals": [{"id": "usr_a", "orgId": "org_1",
                  "kind": "PRINCIPAL_KIND_USER", "email": "a@acme.com"}],
)";

// The report of issue 13: jq and Python see only the second list (one
// read-only grant); protobuf loaded both, and the owner grant allowed
// cloud.delete.
TEST(JsonStrictTest, DuplicateTopLevelKeyIsRefused) {
  const std::string owner =
      R"("grants": [{"id": "g_owner", "principalId": "usr_a",
                 "role": "org_owner", "orgId": "org_1"}])";
  const std::string readonly =
      R"("grants": [{"id": "g_ro", "principalId": "usr_a",
                 "role": "cloud_readonly", "cloudId": "cld_1"}])";
  // What a reviewer sees: read-only, so cloud.delete is denied.
  ASSERT_OK_AND_ASSIGN(v1::PolicySet seen,
                       ParsePolicySet(absl::StrCat("{", kOrg, readonly, "}"),
                                      PolicyFormat::kJson));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<const Engine> engine,
                       Engine::Create(seen));
  AccessRequest request;
  request.principal = "usr_a";
  request.permission = "cloud.delete";
  request.resource = "cld_1";
  EXPECT_FALSE(engine->Check(request).allowed());
  // The file with both is refused, naming the second key's line and column.
  EXPECT_THAT(Load(absl::StrCat("{", kOrg, owner, ",\n  ", readonly, "}")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:9:3: invalid JSON: duplicate key \"grants\" "
                       "at grants (first at 7:1)"));
  // What protobuf alone makes of it: both lists, and the owner grant.
  const std::string both =
      absl::StrCat("{", kOrg, owner, ",\n  ", readonly, "}");
  v1::PolicySet merged;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(both, &merged).ok());
  EXPECT_EQ(merged.grants_size(), 2);
  ASSERT_OK_AND_ASSIGN(engine, Engine::Create(merged));
  EXPECT_TRUE(engine->Check(request).allowed());
}

TEST(JsonStrictTest, DuplicateKeyNestedInAGrantIsRefused) {
  EXPECT_THAT(Load("{\"grants\": [{\"id\": \"g1\", \"role\": \"org_owner\"},\n"
                   "  {\"id\": \"g2\",\n   \"role\": \"org_owner\",\n"
                   "   \"role\": \"cloud_readonly\"}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:4:4: invalid JSON: duplicate key \"role\" at "
                       "grants[1].role (first at 3:4)"));
  // The same key in different objects is no duplicate.
  EXPECT_THAT(Load(R"({"grants": [{"id": "g1"}, {"id": "g2"}],
                       "clouds": [{"id": "c"}]})"),
              IsOk());
}

// A scalar named twice takes the last value in protobuf: a deleted
// principal would come back active.
TEST(JsonStrictTest, RepeatedScalarIsRefused) {
  EXPECT_THAT(
      Load(R"({"principals": [{"id": "u",
                        "state": "PRINCIPAL_STATE_DELETED",
                        "state": "PRINCIPAL_STATE_ACTIVE"}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(StartsWith("org.json:3:25: invalid JSON: "),
                     HasSubstr("duplicate key \"state\" at "
                               "principals[0].state (first at 2:25)"))));
}

TEST(JsonStrictTest, KeysAreComparedAfterDecodingEscapes) {
  EXPECT_THAT(Load(R"({"gr\u0061nts": [], "grants": []})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:21: invalid JSON: duplicate key \"grants\" "
                       "at grants (first at 1:2 as \"gr\\u0061nts\")"));
  EXPECT_THAT(
      Load(R"({"revision": "1", "revisio\u006e": "2"})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("duplicate key \"revisio\\u006e\" at revision")));
}

// protobuf's JSON parser takes both the proto name and the JSON name of a
// field: two spellings in one object are one field named twice.
TEST(JsonStrictTest, BothSpellingsOfAFieldAreADuplicate) {
  EXPECT_THAT(Load(R"({"clouds": [{"id": "c", "auto_add_users": true,
                        "autoAddUsers": false}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"autoAddUsers\" at "
                                 "clouds[0].auto_add_users (first at 1:25 as "
                                 "\"auto_add_users\")")));
  EXPECT_THAT(Load(R"({"grants": [{"id": "g", "principal_id": "usr_a",
                            "principalId": "usr_b"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"principalId\" at "
                                 "grants[0].principal_id")));
  EXPECT_THAT(Load(R"({"grants": [{"expires_at": "2030-01-01T00:00:00Z",
                        "expiresAt": "2020-01-01T00:00:00Z"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at grants[0].expires_at")));
  // One spelling each for different fields is fine.
  ASSERT_OK_AND_ASSIGN(v1::PolicySet state,
                       ParsePolicySet(R"({"clouds": [{"id": "c",
                                        "org_id": "o", "autoAddUsers": true}]})",
                                      PolicyFormat::kJson));
  EXPECT_EQ(state.clouds(0).org_id(), "o");
}

TEST(JsonStrictTest, DuplicateMapKeyIsRefused) {
  v1::TestSuite suite;
  EXPECT_THAT(internal::ParseStrictJson(
                  R"({"options": {"a": "1", "b": "2", "a": "3"}})",
                  "suite.json", {}, &suite),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "suite.json:1:34: invalid JSON: duplicate key \"a\" at "
                       "options[\"a\"] (first at 1:14)"));
  // Map keys are data, not field names: no spelling is folded.
  ASSERT_THAT(
      internal::ParseStrictJson(R"({"options": {"a_b": "1", "aB": "2"}})",
                                "suite.json", {}, &suite),
      IsOk());
  EXPECT_EQ(suite.options().size(), 2u);
  // A policy set inside the suite is read as a PolicySet.
  EXPECT_THAT(
      internal::ParseStrictJson(
          R"({"state": {"grants": [{"group_id": "a", "groupId": "b"}]}})",
          "suite.json", {}, &suite),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("at state.grants[0].group_id")));
}

// A map<int32, ...> parses "1" and "01" into the same key.
TEST(JsonStrictTest, IntegerMapKeysAreComparedAsNumbers) {
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "t.proto"
        package: "t"
        syntax: "proto3"
        message_type {
          name: "M"
          field {
            name: "m"
            number: 1
            label: LABEL_REPEATED
            type: TYPE_MESSAGE
            type_name: ".t.M.MEntry"
            json_name: "m"
          }
          nested_type {
            name: "MEntry"
            field {
              name: "key"
              number: 1
              label: LABEL_OPTIONAL
              type: TYPE_INT32
              json_name: "key"
            }
            field {
              name: "value"
              number: 2
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              json_name: "value"
            }
            options { map_entry: true }
          }
        }
      )pb",
      &file));
  google::protobuf::DescriptorPool pool;
  ASSERT_NE(pool.BuildFile(file), nullptr);
  const google::protobuf::Descriptor* type = pool.FindMessageTypeByName("t.M");
  ASSERT_NE(type, nullptr);
  EXPECT_THAT(internal::CheckStrictJson(R"({"m": {"1": "a", "2": "b"}})", type,
                                        "m.json"),
              IsOk());
  EXPECT_THAT(internal::CheckStrictJson(R"({"m": {"1": "a", "01": "b"}})", type,
                                        "m.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"01\" at m[\"01\"]")));
}

// Unknown fields (ignored on request) and objects without a type compare
// their keys exactly.
TEST(JsonStrictTest, UnknownAndUntypedObjectsCompareKeysExactly) {
  LoadOptions ignore;
  ignore.ignore_unknown_json_fields = true;
  EXPECT_THAT(ParsePolicySet(R"({"extra": {"x": 1, "x": 2}})",
                             PolicyFormat::kJson, "org.json", ignore),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate key \"x\" at extra.x")));
  EXPECT_THAT(ParsePolicySet(R"({"extra": {"x_y": 1, "xY": 2}})",
                             PolicyFormat::kJson, "org.json", ignore),
              IsOk());
  EXPECT_THAT(internal::CheckStrictJson(R"([{"a": 1}, {"a": 2, "a": 3}])",
                                        nullptr, "x.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "x.json:1:21: invalid JSON: duplicate key \"a\" at "
                       "[1].a (first at 1:13)"));
  EXPECT_THAT(
      internal::CheckStrictJson(R"({"a_b": 1, "aB": 2})", nullptr, "x.json"),
      IsOk());
}

TEST(JsonStrictTest, SyntaxErrorsAreRapidJsonsWithOurWords) {
  EXPECT_THAT(Load("{\"revision\": 01}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:14: invalid JSON: invalid number: leading "
                       "zeros are not allowed"));
  EXPECT_THAT(Load(std::string("{\"revision\": \"1\"}\n\0{}", 21)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:2:1: invalid JSON: NUL byte"));
  EXPECT_THAT(Load(std::string("{\"revision\": \"1\"}\n\0", 19)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:2:1: invalid JSON: NUL byte"));
  EXPECT_THAT(Load(std::string("{\"a\": \"x\0y\"}", 12)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:9: invalid JSON: NUL byte"));
  EXPECT_THAT(Load("{\"clouds\": [{\"name\": \"\xC3\x28\"}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:23: invalid JSON: invalid UTF-8 in string"));
  EXPECT_THAT(Load("// comment\n{}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:1: invalid JSON: unexpected character"));
  EXPECT_THAT(Load("{\"a\": 1,}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:9: invalid JSON: expected a field name in "
                       "quotes"));
  EXPECT_THAT(Load("{\"a\": [1 2]}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:10: invalid JSON: expected ',' or ']'"));
  EXPECT_THAT(Load("{\"a\": \"x\\q\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:9: invalid JSON: invalid escape in string"));
  EXPECT_THAT(Load("{\"a\": \"x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:9: invalid JSON: unterminated string"));
  EXPECT_THAT(Load("{\"a\": nul"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:7: invalid JSON: invalid literal"));
}

TEST(JsonStrictTest, DepthIsLimitedWithoutRecursion) {
  const int limit = internal::kMaxJsonDepth;
  EXPECT_THAT(
      internal::CheckStrictJson(
          std::string(limit, '[') + std::string(limit, ']'), nullptr, "x"),
      IsOk());
  EXPECT_THAT(internal::CheckStrictJson(
                  std::string(limit + 1, '[') + std::string(limit + 1, ']'),
                  nullptr, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("x:1:", limit + 1,
                                    ": invalid JSON: nested too deeply (more "
                                    "than 100 levels)")));
  // A million levels: refused at the limit, no stack overflow.
  std::string deep;
  for (int i = 0; i < 1000000; ++i) deep += "{\"a\":";
  EXPECT_THAT(Load(deep), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("nested too deeply")));
}

// A UTF-8 byte order mark at the start of a text or JSON policy is ignored.
TEST(JsonStrictTest, ByteOrderMarkIsIgnoredForTextAndJson) {
  const std::string bom = "\xEF\xBB\xBF";
  for (PolicyFormat format : {PolicyFormat::kJson, PolicyFormat::kAuto}) {
    ASSERT_OK_AND_ASSIGN(
        v1::PolicySet state,
        ParsePolicySet(bom + "{\"revision\": \"4\"}", format, "org.json"));
    EXPECT_EQ(state.revision(), 4u);
  }
  for (PolicyFormat format : {PolicyFormat::kText, PolicyFormat::kAuto}) {
    ASSERT_OK_AND_ASSIGN(v1::PolicySet state,
                         ParsePolicySet(bom + "revision: 5\n", format, "t"));
    EXPECT_EQ(state.revision(), 5u);
  }
  // Positions are those of the file without it.
  EXPECT_THAT(ParsePolicySet(bom + "{\"revision\": \"4\",}",
                             PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.json:1:18: invalid JSON")));
  // Only one, only at the start.
  EXPECT_THAT(ParsePolicySet(bom + bom + "{}", PolicyFormat::kJson, "org.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "org.json:1:1: invalid JSON: UTF-8 byte order mark at "
                       "start of file; remove it"));
  // Binary is binary.
  EXPECT_THAT(ParsePolicySet(bom, PolicyFormat::kBinary, "org.binpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("org.binpb: not a PolicySet in binary")));
}

TEST(JsonStrictTest, LocatesProtobufErrorPaths) {
  const std::string json =
      "{\"clouds\": [{\"id\": \"a\"},\n {\"id\": \"b\", \"iamMapping\": "
      "{\"rules\": [{}, {\"selector\": \"x\"}]}}]}";
  const google::protobuf::Descriptor* type = v1::PolicySet::descriptor();
  auto at =
      [&](absl::string_view message) -> absl::optional<std::pair<int, int>> {
    absl::optional<size_t> offset =
        internal::LocateProtoJsonError(json, type, message);
    if (!offset.has_value()) return absl::nullopt;
    return internal::LineColumn(json, *offset);
  };
  EXPECT_EQ(at("(clouds[1].iam_mapping.rules[1]) selector: x"),
            std::make_pair(2, 44));
  EXPECT_EQ(at("(clouds[1].iam_mapping.rules[0]): invalid"),
            std::make_pair(2, 39));
  EXPECT_EQ(at("(clouds[1]) iamMapping: bad"), std::make_pair(2, 14));
  EXPECT_EQ(at("(clouds[1]): bad"), std::make_pair(2, 2));
  EXPECT_EQ(at("(clouds[2]): bad"), absl::nullopt);
  EXPECT_EQ(at("no path here"), absl::nullopt);
}

}  // namespace
}  // namespace arbiter
