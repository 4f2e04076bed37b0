// The IAM selector parser (src/iam/selector.h): every requirement form, the
// canonical rendering, the pattern delimiter and every syntax error with its
// column.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/iam/selector.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace internal {
namespace {

using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;

struct ValidCase {
  const char* name;
  const char* selector;
  const char* canonical;
};

class SelectorValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(SelectorValidTest, ParsesToCanonicalForm) {
  const ValidCase& c = GetParam();
  ASSERT_OK_AND_ASSIGN(ParsedSelector parsed, ParseSelector(c.selector));
  EXPECT_EQ(FormatSelector(parsed), c.canonical);
  // The canonical form reads back to itself.
  ASSERT_OK_AND_ASSIGN(ParsedSelector again,
                       ParseSelector(FormatSelector(parsed)));
  EXPECT_EQ(FormatSelector(again), c.canonical);
  // Requirement spans cover the text as written.
  for (const SelectorRequirement& r : parsed.requirements) {
    ASSERT_LE(r.begin, r.end);
    ASSERT_LE(r.end, std::string(c.selector).size());
    const std::string text =
        std::string(c.selector).substr(r.begin, r.end - r.begin);
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text.front(), ' ');
    if (text.back() == ' ') {  // only an escaped space may end a pattern
      ASSERT_GE(text.size(), 2u);
      EXPECT_EQ(text[text.size() - 2], '\\');
    }
    ASSERT_EQ(r.values.size(), r.value_offsets.size());
    for (size_t i = 0; i < r.values.size(); ++i) {
      EXPECT_EQ(std::string(c.selector)
                    .substr(r.value_offsets[i], r.values[i].size()),
                r.values[i]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Selectors, SelectorValidTest,
    ::testing::Values(
        ValidCase{"Empty", "", ""}, ValidCase{"Blank", " \t ", ""},
        ValidCase{"Equals", "project=ml-prod", "project=ml-prod"},
        ValidCase{"DoubleEquals", "project==ml-prod", "project=ml-prod"},
        ValidCase{"NotEquals", "user!=a@b.com", "user!=a@b.com"},
        ValidCase{"In", "workload-type in (job,service)",
                  "workload-type in (job,service)"},
        ValidCase{"InNoSpaceBeforeParen", "project in(a)", "project in (a)"},
        ValidCase{"NotIn", "user notin ( a@b.com , c+d@e.org )",
                  "user notin (a@b.com,c+d@e.org)"},
        ValidCase{"Exists", "user", "user"},
        ValidCase{"NotExists", "! project", "!project"},
        ValidCase{"Spaces", "  project = web ,  workload-type != job  ",
                  "project=web,workload-type!=job"},
        ValidCase{"ValueCharset", "user=A.b+c-d_e@F.io", "user=A.b+c-d_e@F.io"},
        ValidCase{"KeywordsAsValues", "project in (in,notin)",
                  "project in (in,notin)"},
        ValidCase{"Pattern", "user~=.*@acme\\.com", "user~=.*@acme\\.com"},
        ValidCase{"PatternThenRequirement", "user~=.*@acme\\.com,project=web",
                  "user~=.*@acme\\.com,project=web"},
        ValidCase{"PatternSpacesTrimmed", "user~=  a.*b  ,project=web",
                  "user~=a.*b,project=web"},
        ValidCase{"PatternCommaInGroup", "project~=(a,b)|c,user",
                  "project~=(a,b)|c,user"},
        ValidCase{"PatternCommaInClass", "project~=[,x]+,user",
                  "project~=[,x]+,user"},
        ValidCase{"PatternLeadingBracketInClass", "project~=[],]+,user",
                  "project~=[],]+,user"},
        ValidCase{"PatternPosixClass", "project~=[[:alpha:],]+,user",
                  "project~=[[:alpha:],]+,user"},
        ValidCase{"PatternRepetition", "project~=a{1,3},user",
                  "project~=a{1,3},user"},
        ValidCase{"PatternLiteralBrace", "project~=a{x,user",
                  "project~=a{x,user"},
        ValidCase{"PatternQuoted", "project~=\\Qa,b\\E,user",
                  "project~=\\Qa,b\\E,user"},
        ValidCase{"PatternEscapedComma", "project~=a\\,b,user",
                  "project~=a\\,b,user"},
        ValidCase{"PatternEscapedTrailingSpace", "project~=a\\ ,user",
                  "project~=a\\ ,user"},
        ValidCase{"PatternUtf8", "project~=caf\xc3\xa9",
                  "project~=caf\xc3\xa9"},
        ValidCase{"Tabs", "project\t=\tweb", "project=web"}),
    [](const ::testing::TestParamInfo<ValidCase>& info) {
      return std::string(info.param.name);
    });

TEST(SelectorTest, RequirementsInOrderWithValues) {
  ASSERT_OK_AND_ASSIGN(
      ParsedSelector p,
      ParseSelector("workload-type=job, user notin (b@x.com,a@x.com,b@x.com), "
                    "!project"));
  ASSERT_EQ(p.requirements.size(), 3u);
  EXPECT_EQ(p.requirements[0].key, SelectorKey::kWorkloadType);
  EXPECT_EQ(p.requirements[0].op, SelectorOp::kEquals);
  EXPECT_EQ(p.requirements[1].op, SelectorOp::kNotIn);
  EXPECT_THAT(p.requirements[1].values,
              ::testing::ElementsAre("b@x.com", "a@x.com", "b@x.com"));
  EXPECT_EQ(p.requirements[2].op, SelectorOp::kNotExists);
  EXPECT_EQ(p.requirements[2].key, SelectorKey::kProject);
  EXPECT_EQ(p.requirements[1].begin, 19u);
}

struct ErrorCase {
  const char* name;
  const char* selector;
  const char* message;  // substring, with the column
};

class SelectorErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SelectorErrorTest, ReportsColumnAndFault) {
  const ErrorCase& c = GetParam();
  EXPECT_THAT(
      ParseSelector(c.selector),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    Selectors, SelectorErrorTest,
    ::testing::Values(
        ErrorCase{"UnknownKey", "workload-type=job,team=ml",
                  "column 19: unknown key \"team\" (expected workload-type, "
                  "project or user)"},
        ErrorCase{"KeysAreCaseSensitive", "Project=web",
                  "column 1: unknown key \"Project\""},
        ErrorCase{"KubernetesPrefixedKey", "anyscale.com/project=web",
                  "column 1: unknown key \"anyscale.com/project\""},
        ErrorCase{"MissingKey", "=web", "column 1: expected a key"},
        ErrorCase{"LeadingComma", ",project=web", "column 1: expected a key"},
        ErrorCase{"TrailingComma", "project=web,",
                  "column 13: expected a requirement after ','"},
        ErrorCase{"DoubleComma", "project=web,,user",
                  "column 13: expected a key"},
        ErrorCase{"MissingValue", "project=", "column 9: expected a value"},
        ErrorCase{"MissingValueBeforeComma", "project=,user",
                  "column 9: expected a value, found ','"},
        ErrorCase{"BadOperator", "project<web",
                  "column 8: expected an operator (=, ==, !=, ~=, in, notin)"},
        ErrorCase{"BadWordOperator", "project is (web)",
                  "column 9: expected an operator"},
        ErrorCase{"TripleEquals", "project===web",
                  "column 10: expected a value, found '='"},
        ErrorCase{"BangWithoutKey", "!", "column 2: expected a key"},
        ErrorCase{"BangWithValue", "!project=web",
                  "column 9: expected ',' or the end of the selector, found "
                  "'='"},
        ErrorCase{"ValueWithColon", "user=arn:aws:iam",
                  "column 9: invalid character ':' in value \"arn\""},
        ErrorCase{"ValueWithSpace", "project=my project",
                  "column 12: expected ',' or the end of the selector, found "
                  "'p'"},
        ErrorCase{"ValueWithSlash", "project=a/b",
                  "column 10: invalid character '/'"},
        ErrorCase{"ValueWithStar", "user=*@acme.com",
                  "column 6: expected a value, found '*'"},
        ErrorCase{"NonAsciiValue", "project=caf\xc3\xa9",
                  "column 12: invalid character byte 0xc3"},
        ErrorCase{"ControlCharacter", "project=web\n",
                  "column 12: control character 0x0a"},
        ErrorCase{"InWithoutParen", "project in web",
                  "column 12: expected '(' after in"},
        ErrorCase{"EmptyList", "project in ()",
                  "column 13: expected a value, found ')'"},
        ErrorCase{"ListTrailingComma", "project in (a,)",
                  "column 15: expected a value, found ')'"},
        ErrorCase{"UnterminatedList", "project notin (a,b",
                  "column 19: missing ')'"},
        ErrorCase{"ListBadSeparator", "project in (a;b)",
                  "column 14: invalid character ';'"},
        ErrorCase{"ListMissingComma", "project in (a b)",
                  "column 15: expected ',' or ')' in the value list, found "
                  "'b'"},
        ErrorCase{"UnknownWorkloadType", "workload-type=cluster",
                  "column 15: unknown workload type \"cluster\" (expected "
                  "job, service or workspace)"},
        ErrorCase{"WorkloadTypeCase", "workload-type in (job,Service)",
                  "column 23: unknown workload type \"Service\""},
        ErrorCase{"WorkloadTypeNotEquals", "workload-type!=jobs",
                  "column 16: unknown workload type \"jobs\""},
        ErrorCase{"EmptyPattern", "user~=", "column 7: expected a pattern"},
        ErrorCase{"BlankPattern", "user~=  ,project=web",
                  "column 9: expected a pattern after '~=', found ','"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(SelectorTest, ScanPatternFindsTheDelimitingComma) {
  struct Case {
    const char* text;
    size_t end;
    size_t significant_end;
    bool closed;
  };
  const Case cases[] = {
      {"abc", 3, 3, true},       {"abc,def", 3, 3, true},
      {"ab  ,x", 4, 2, true},    {"(a,b),c", 5, 5, true},
      {"[,],c", 3, 3, true},     {"[^],],c", 5, 5, true},
      {"a{2,3},c", 6, 6, true},  {"a{2,},c", 5, 5, true},
      {"a{,3},c", 2, 2, true},  // not a repetition: RE2 reads it literally
      {"\\Q,\\E,c", 5, 5, true}, {"\\,,c", 2, 2, true},
      {"a\\ ,c", 3, 3, true},    {"(a,b", 4, 4, false},
      {"[a,b", 4, 4, false},     {"\\Qa,b", 5, 5, false},
      {"a)b,c", 3, 3, true},  // a stray ')' does not open anything
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    size_t significant_end;
    bool closed;
    EXPECT_EQ(ScanPattern(c.text, 0, &significant_end, &closed), c.end);
    EXPECT_EQ(significant_end, c.significant_end);
    EXPECT_EQ(closed, c.closed);
  }
}

TEST(SelectorTest, KeyNames) {
  EXPECT_EQ(SelectorKeyName(SelectorKey::kWorkloadType), "workload-type");
  EXPECT_EQ(SelectorKeyName(SelectorKey::kProject), "project");
  EXPECT_EQ(SelectorKeyName(SelectorKey::kUser), "user");
}

}  // namespace
}  // namespace internal
}  // namespace arbiter
