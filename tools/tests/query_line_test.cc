// The JSON Lines query parser of `arbiter check --queries`.

#include "tools/query_line.h"

#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using cli::ParseQueryLine;
using cli::QueryLine;
using cli::QueryScratch;
using ::testing::HasSubstr;

TEST(QueryLineTest, ParsesEveryKey) {
  QueryLine q;
  QueryScratch scratch;
  ASSERT_THAT(
      ParseQueryLine(R"({"id": 7, "principal": "alice@acme.com",)"
                     R"( "permission": "project.view", "resource": "prod/web",)"
                     R"( "org": "acme", "channel": "console",)"
                     R"( "at": "2026-12-01T00:00:00Z"})",
                     &q, &scratch),
      IsOk());
  EXPECT_EQ(q.id, "7");
  EXPECT_EQ(q.principal, "alice@acme.com");
  EXPECT_EQ(q.permission, "project.view");
  EXPECT_EQ(q.resource, "prod/web");
  EXPECT_EQ(q.org, "acme");
  EXPECT_EQ(q.channel, "console");
  EXPECT_EQ(q.at, "2026-12-01T00:00:00Z");
}

TEST(QueryLineTest, OptionalKeysMayBeAbsentOrNull) {
  QueryLine q;
  QueryScratch scratch;
  ASSERT_THAT(
      ParseQueryLine(R"(  {"principal":"p","permission":"x","resource":"r",)"
                     R"("org":null,"id":null}  )",
                     &q, &scratch),
      IsOk());
  EXPECT_EQ(q.org, "");
  EXPECT_EQ(q.id, "");
  EXPECT_EQ(q.channel, "");
}

TEST(QueryLineTest, StringIdIsEchoedWithItsQuotes) {
  QueryLine q;
  QueryScratch scratch;
  ASSERT_THAT(
      ParseQueryLine(R"({"id":"a \"b\"","principal":"p","permission":"x",)"
                     R"("resource":"r"})",
                     &q, &scratch),
      IsOk());
  EXPECT_EQ(q.id, R"("a \"b\"")");
}

TEST(QueryLineTest, NumberIdsFollowTheJsonGrammar) {
  QueryLine q;
  QueryScratch scratch;
  for (const char* id : {"0", "-12", "3.25", "1e9", "-0.5E-3"}) {
    const std::string line =
        std::string(R"({"id":)") + id +
        R"(,"principal":"p","permission":"x","resource":"r"})";
    ASSERT_THAT(ParseQueryLine(line, &q, &scratch), IsOk()) << id;
    EXPECT_EQ(q.id, id);
  }
  for (const char* id : {"01", "1.", "-", "1e", "+1", ".5", "0x10"}) {
    const std::string line =
        std::string(R"({"id":)") + id +
        R"(,"principal":"p","permission":"x","resource":"r"})";
    EXPECT_THAT(ParseQueryLine(line, &q, &scratch),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << id;
  }
}

// `01` is not JSON. It used to parse as the id 0 followed by junk, so the
// error row echoed an id the line did not have ("id":0).
TEST(QueryLineTest, LeadingZeroIdIsAnErrorWithoutAnId) {
  QueryLine q;
  QueryScratch scratch;
  for (const char* id : {"01", "-01", "00", "007"}) {
    const std::string line =
        std::string(R"({"id":)") + id +
        R"(,"principal":"p","permission":"x","resource":"r"})";
    EXPECT_THAT(ParseQueryLine(line, &q, &scratch),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("column 7: invalid number: leading zeros "
                                   "are not allowed")))
        << id;
    EXPECT_EQ(q.id, "") << id;
  }
  // Other numbers are echoed exactly as written.
  ASSERT_THAT(ParseQueryLine(R"({"id":-0.50e+01,"principal":"p",)"
                             R"("permission":"x","resource":"r"})",
                             &q, &scratch),
              IsOk());
  EXPECT_EQ(q.id, "-0.50e+01");
}

// Keys are compared after decoding: an escaped spelling is the same key.
TEST(QueryLineTest, EscapedDuplicateKeyIsADuplicate) {
  QueryLine q;
  QueryScratch scratch;
  EXPECT_THAT(ParseQueryLine(R"({"principal":"p","principal":"q",)"
                             R"("permission":"x","resource":"r"})",
                             &q, &scratch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "column 18: duplicate key \"principal\""));
}

TEST(QueryLineTest, DecodesEscapes) {
  QueryLine q;
  QueryScratch scratch;
  ASSERT_THAT(ParseQueryLine(
                  R"({"principal":"carol\u0040acme.com","permission":"a\/b",)"
                  R"("resource":"caf\u00e9 \ud83d\ude00\t"})",
                  &q, &scratch),
              IsOk());
  EXPECT_EQ(q.principal, "carol@acme.com");
  EXPECT_EQ(q.permission, "a/b");
  EXPECT_EQ(q.resource, "caf\xC3\xA9 \xF0\x9F\x98\x80\t");
}

TEST(QueryLineTest, LongPlainStringsTakeTheFastPath) {
  // Strings longer than 8 bytes, with a quote or escape at every offset
  // relative to the 8-byte blocks.
  for (int pad = 0; pad < 20; ++pad) {
    const std::string prefix(pad, 'x');
    QueryLine q;
    QueryScratch scratch;
    const std::string line = R"({"principal":")" + prefix +
                             R"(\"q","permission":")" + prefix +
                             R"(p","resource":")" + prefix + R"(r"})";
    ASSERT_THAT(ParseQueryLine(line, &q, &scratch), IsOk()) << pad;
    EXPECT_EQ(q.principal, prefix + "\"q");
    EXPECT_EQ(q.permission, prefix + "p");
    EXPECT_EQ(q.resource, prefix + "r");
    const std::string control = R"({"principal":")" + prefix +
                                std::string(1, '\x01') +
                                R"(","permission":"x","resource":"r"})";
    EXPECT_THAT(ParseQueryLine(control, &q, &scratch),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("control character")))
        << pad;
  }
}

struct BadLine {
  const char* line;
  const char* message;
};

void PrintTo(const BadLine& b, std::ostream* os) { *os << b.line; }

class QueryLineErrorTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(QueryLineErrorTest, IsRejectedWithAMessage) {
  QueryLine q;
  QueryScratch scratch;
  EXPECT_THAT(ParseQueryLine(GetParam().line, &q, &scratch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Lines, QueryLineErrorTest,
    ::testing::Values(
        BadLine{"", "column 1: expected '{'"}, BadLine{"[1,2]", "expected '{'"},
        BadLine{R"({"principal":"p","permission":"x"})",
                "missing \"resource\""},
        BadLine{R"({"permission":"x","resource":"r"})",
                "missing \"principal\""},
        BadLine{R"({"principal":"p","resource":"r"})",
                "missing \"permission\""},
        BadLine{R"({"principal":"","permission":"x","resource":"r"})",
                "missing \"principal\""},
        BadLine{R"({"principal":"p","permission":"x","resource":"r","x":1})",
                "unknown key \"x\""},
        BadLine{
            R"({"principal":"p","principal":"q","permission":"x","resource":"r"})",
            "column 18: duplicate key \"principal\""},
        BadLine{R"({"principal":1,"permission":"x","resource":"r"})",
                "\"principal\" must be a string"},
        BadLine{R"({"principal":"p","permission":"x","resource":"r","id":{}})",
                "\"id\" must be a string or a number"},
        BadLine{R"({"principal":"p" "permission":"x"})", "expected ',' or '}'"},
        BadLine{R"({"principal" "p"})", "expected ':'"},
        BadLine{R"({"principal":"p)", "unterminated string"},
        BadLine{R"({"principal":"p\q","permission":"x","resource":"r"})",
                "invalid escape"},
        BadLine{R"({"principal":"\u12","permission":"x","resource":"r"})",
                "invalid \\u escape"},
        BadLine{R"({"principal":"\ud83d","permission":"x","resource":"r"})",
                "unpaired surrogate"},
        BadLine{R"({"principal":"p","permission":"x","resource":"r"} {})",
                "unexpected text after the object"},
        BadLine{R"({principal:"p"})", "expected a key in double quotes"},
        BadLine{"{\"principal\":\"a\nb\"}", "control character"}),
    [](const ::testing::TestParamInfo<BadLine>& info) {
      return "Line" + std::to_string(info.index);
    });

TEST(QueryLineTest, KeepsTheIdWhenALaterFieldIsBad) {
  QueryLine q;
  QueryScratch scratch;
  EXPECT_FALSE(
      ParseQueryLine(R"({"id":"q-9","principal":5})", &q, &scratch).ok());
  EXPECT_EQ(q.id, R"("q-9")");
}

TEST(QueryLineTest, BlankLines) {
  EXPECT_TRUE(cli::IsBlankLine(""));
  EXPECT_TRUE(cli::IsBlankLine(" \t\r"));
  EXPECT_FALSE(cli::IsBlankLine(" {"));
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  std::string out;
  cli::AppendJsonString(std::string("a\"b\\c\n\x01\x7f\xC3\xA9", 10), &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\x7f\xC3\xA9\"");
}

TEST(JsonStringTest, ReplacesBytesThatAreNotUtf8) {
  std::string out;
  // A lone continuation byte, a truncated 3-byte sequence, an overlong
  // encoding, a UTF-16 surrogate, then valid 2- and 4-byte characters.
  cli::AppendJsonString(
      "a\x80"
      "b\xE2\x82"
      "c\xC0\xAF"
      "d\xED\xA0\x80"
      "e\xC3\xA9\xF0\x9F\x98\x80",
      &out);
  EXPECT_EQ(out,
            "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffde"
            "\xC3\xA9\xF0\x9F\x98\x80\"");
}

TEST(QueryLineTest, RejectsStringsThatAreNotUtf8) {
  QueryLine q;
  QueryScratch scratch;
  for (const char* bad : {"\x80", "\xC3", "\xE2\x82", "\xC0\xAF",
                          "\xED\xA0\x80", "\xF5\x80\x80\x80", "\xFF"}) {
    for (const char* escape : {"", "\\n"}) {  // the fast and the slow path
      const std::string line = std::string(R"({"principal":"long-prefix-)") +
                               escape + bad +
                               R"(","permission":"x","resource":"r"})";
      EXPECT_THAT(ParseQueryLine(line, &q, &scratch),
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           HasSubstr("invalid UTF-8")));
    }
  }
  const std::string good =
      "{\"principal\":\"caf\xC3\xA9-\xF0\x9F\x98\x80\",\"permission\":\"x\","
      "\"resource\":\"r\",\"id\":\"\xC3\xA9\"}";
  ASSERT_THAT(ParseQueryLine(good, &q, &scratch), IsOk());
  EXPECT_EQ(q.principal, "caf\xC3\xA9-\xF0\x9F\x98\x80");
  EXPECT_EQ(q.id, "\"\xC3\xA9\"");
}

TEST(JsonStringTest, RoundTripsThroughTheParser) {
  std::string text;
  for (int c = 1; c < 128; ++c) text.push_back(static_cast<char>(c));
  std::string line = "{\"principal\":";
  cli::AppendJsonString(text, &line);
  line += ",\"permission\":\"x\",\"resource\":\"r\"}";
  QueryLine q;
  QueryScratch scratch;
  ASSERT_THAT(ParseQueryLine(line, &q, &scratch), IsOk());
  EXPECT_EQ(q.principal, text);
}

}  // namespace
}  // namespace arbiter
