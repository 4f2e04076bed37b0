#include "src/iam/selector.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace arbiter {
namespace internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool IsKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.' || c == '/';
}

// Skips a {n}, {n,} or {n,m} repetition starting at text[i] == '{'. Returns
// the offset after '}', or npos when this '{' is an ordinary character (RE2
// then reads it literally).
size_t SkipRepetition(absl::string_view text, size_t i) {
  size_t j = i + 1;
  const size_t digits = j;
  while (j < text.size() && absl::ascii_isdigit(text[j])) ++j;
  if (j == digits) return absl::string_view::npos;
  if (j < text.size() && text[j] == ',') {
    ++j;
    while (j < text.size() && absl::ascii_isdigit(text[j])) ++j;
  }
  if (j < text.size() && text[j] == '}') return j + 1;
  return absl::string_view::npos;
}

// Skips a character class starting at text[i] == '['. Returns the offset
// after its closing ']', or text.size() with *closed = false.
size_t SkipClass(absl::string_view text, size_t i, bool* closed) {
  size_t j = i + 1;
  if (j < text.size() && text[j] == '^') ++j;
  if (j < text.size() && text[j] == ']') ++j;  // a leading ']' is literal
  while (j < text.size()) {
    const char c = text[j];
    if (c == '\\') {
      j += 2;
    } else if (c == '[' && j + 1 < text.size() && text[j + 1] == ':') {
      // [:alpha:] inside a class.
      const size_t close = text.find(":]", j + 2);
      j = close == absl::string_view::npos ? j + 1 : close + 2;
    } else if (c == ']') {
      return j + 1;
    } else {
      ++j;
    }
  }
  *closed = false;
  return text.size();
}

std::string HexByte(unsigned char c) {
  constexpr char kDigits[] = "0123456789abcdef";
  return absl::StrCat("0x", std::string(1, kDigits[c >> 4]),
                      std::string(1, kDigits[c & 15]));
}

// A character for an error message: 'x', or its byte value when it is not
// printable.
std::string Describe(absl::string_view text, size_t pos) {
  if (pos >= text.size()) return "the end of the selector";
  const unsigned char c = static_cast<unsigned char>(text[pos]);
  if (c > ' ' && c < 0x7F) return absl::StrCat("'", std::string(1, c), "'");
  if (c == ' ') return "' '";
  return absl::StrCat("byte ", HexByte(c));
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : t_(text) {}

  absl::StatusOr<ParsedSelector> Run() {
    for (size_t i = 0; i < t_.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(t_[i]);
      if ((c < 0x20 && c != '\t') || c == 0x7F) {
        return Error(i, absl::StrCat("control character ", HexByte(c)));
      }
    }
    ParsedSelector out;
    SkipSpaces();
    if (AtEnd()) return out;  // matches everything
    while (true) {
      SelectorRequirement r;
      absl::Status status = ParseRequirement(&r);
      if (!status.ok()) return status;
      out.requirements.push_back(std::move(r));
      SkipSpaces();
      if (AtEnd()) return out;
      if (t_[pos_] != ',') {
        return Error(pos_, absl::StrCat("expected ',' or the end of the "
                                        "selector, found ",
                                        Describe(t_, pos_)));
      }
      ++pos_;
      SkipSpaces();
      if (AtEnd()) return Error(pos_, "expected a requirement after ','");
    }
  }

 private:
  absl::Status Error(size_t pos, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", pos + 1, ": ", message));
  }

  bool AtEnd() const { return pos_ >= t_.size(); }
  void SkipSpaces() {
    while (!AtEnd() && IsSpace(t_[pos_])) ++pos_;
  }
  bool Consume(absl::string_view token) {
    if (t_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  absl::Status ParseKey(SelectorKey* key) {
    const size_t start = pos_;
    while (!AtEnd() && IsKeyChar(t_[pos_])) ++pos_;
    const absl::string_view word = t_.substr(start, pos_ - start);
    if (word.empty()) {
      return Error(start, absl::StrCat("expected a key (workload-type, "
                                       "project or user), found ",
                                       Describe(t_, start)));
    }
    if (word == "workload-type") {
      *key = SelectorKey::kWorkloadType;
    } else if (word == "project") {
      *key = SelectorKey::kProject;
    } else if (word == "user") {
      *key = SelectorKey::kUser;
    } else {
      return Error(
          start, absl::StrCat("unknown key \"", word,
                              "\" (expected workload-type, project or user)"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseValue(SelectorRequirement* r) {
    SkipSpaces();
    const size_t start = pos_;
    while (!AtEnd() && IsSelectorValueChar(t_[pos_])) ++pos_;
    const absl::string_view value = t_.substr(start, pos_ - start);
    if (value.empty()) {
      return Error(
          start, absl::StrCat("expected a value, found ", Describe(t_, start)));
    }
    if (!AtEnd() && !IsSpace(t_[pos_]) && t_[pos_] != ',' && t_[pos_] != ')') {
      return Error(pos_, absl::StrCat("invalid character ", Describe(t_, pos_),
                                      " in value \"", value,
                                      "\" (a value holds letters, digits and "
                                      "@ . + - _)"));
    }
    if (r->key == SelectorKey::kWorkloadType && value != "job" &&
        value != "service" && value != "workspace") {
      return Error(start, absl::StrCat("unknown workload type \"", value,
                                       "\" (expected job, service or "
                                       "workspace)"));
    }
    r->values.emplace_back(value);
    r->value_offsets.push_back(start);
    return absl::OkStatus();
  }

  absl::Status ParseValueList(SelectorRequirement* r, absl::string_view op) {
    SkipSpaces();
    if (!Consume("(")) {
      return Error(pos_, absl::StrCat("expected '(' after ", op, ", found ",
                                      Describe(t_, pos_)));
    }
    while (true) {
      absl::Status status = ParseValue(r);
      if (!status.ok()) return status;
      SkipSpaces();
      if (Consume(",")) continue;
      if (Consume(")")) return absl::OkStatus();
      if (AtEnd()) return Error(pos_, "missing ')' after the value list");
      return Error(pos_, absl::StrCat("expected ',' or ')' in the value list, "
                                      "found ",
                                      Describe(t_, pos_)));
    }
  }

  absl::Status ParsePattern(SelectorRequirement* r) {
    SkipSpaces();
    const size_t start = pos_;
    size_t significant_end;
    bool closed;
    pos_ = ScanPattern(t_, start, &significant_end, &closed);
    if (significant_end == start) {
      return Error(start, absl::StrCat("expected a pattern after '~=', found ",
                                       Describe(t_, start)));
    }
    r->values.emplace_back(t_.substr(start, significant_end - start));
    r->value_offsets.push_back(start);
    r->end = significant_end;
    return absl::OkStatus();
  }

  absl::Status ParseRequirement(SelectorRequirement* r) {
    r->begin = pos_;
    if (Consume("!")) {
      SkipSpaces();
      absl::Status status = ParseKey(&r->key);
      if (!status.ok()) return status;
      r->op = SelectorOp::kNotExists;
      r->end = pos_;
      return absl::OkStatus();
    }
    absl::Status status = ParseKey(&r->key);
    if (!status.ok()) return status;
    const size_t key_end = pos_;
    SkipSpaces();
    if (AtEnd() || t_[pos_] == ',') {
      r->op = SelectorOp::kExists;
      r->end = key_end;
      return absl::OkStatus();
    }
    if (Consume("==") || Consume("=")) {
      r->op = SelectorOp::kEquals;
      status = ParseValue(r);
    } else if (Consume("!=")) {
      r->op = SelectorOp::kNotEquals;
      status = ParseValue(r);
    } else if (Consume("~=")) {
      r->op = SelectorOp::kMatches;
      return ParsePattern(r);
    } else {
      const size_t start = pos_;
      while (!AtEnd() && absl::ascii_isalpha(t_[pos_])) ++pos_;
      const absl::string_view word = t_.substr(start, pos_ - start);
      if (word == "in" || word == "notin") {
        r->op = word == "in" ? SelectorOp::kIn : SelectorOp::kNotIn;
        status = ParseValueList(r, word);
      } else {
        return Error(
            start, absl::StrCat("expected an operator (=, ==, !=, ~=, in, "
                                "notin), ',' or the end after key \"",
                                SelectorKeyName(r->key), "\", found ",
                                word.empty() ? Describe(t_, start)
                                             : absl::StrCat("\"", word, "\"")));
      }
    }
    if (!status.ok()) return status;
    r->end = pos_;
    return absl::OkStatus();
  }

  absl::string_view t_;
  size_t pos_ = 0;
};

}  // namespace

absl::string_view SelectorKeyName(SelectorKey key) {
  switch (key) {
    case SelectorKey::kWorkloadType:
      return "workload-type";
    case SelectorKey::kProject:
      return "project";
    case SelectorKey::kUser:
      return "user";
  }
  return "?";
}

size_t ScanPattern(absl::string_view text, size_t start,
                   size_t* significant_end, bool* closed) {
  *closed = true;
  *significant_end = start;
  int depth = 0;
  size_t i = start;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ',' && depth == 0) break;
    if (c == '\\') {
      if (i + 1 < text.size() && text[i + 1] == 'Q') {
        // \Q...\E quotes everything up to \E (or the end of the pattern).
        const size_t e = text.find("\\E", i + 2);
        if (e == absl::string_view::npos) {
          *closed = false;
          i = text.size();
        } else {
          i = e + 2;
        }
      } else {
        i = i + 2 <= text.size() ? i + 2 : text.size();
      }
      *significant_end = i;
      continue;
    }
    if (c == '[') {
      i = SkipClass(text, i, closed);
      *significant_end = i;
      continue;
    }
    if (c == '{') {
      const size_t j = SkipRepetition(text, i);
      if (j != absl::string_view::npos) {
        i = j;
        *significant_end = i;
        continue;
      }
    }
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    }
    ++i;
    if (!IsSpace(c)) *significant_end = i;
  }
  if (depth > 0) *closed = false;
  return i;
}

absl::StatusOr<ParsedSelector> ParseSelector(absl::string_view selector) {
  return Parser(selector).Run();
}

std::string FormatSelector(const ParsedSelector& selector) {
  std::string out;
  for (const SelectorRequirement& r : selector.requirements) {
    if (!out.empty()) out += ',';
    const absl::string_view key = SelectorKeyName(r.key);
    switch (r.op) {
      case SelectorOp::kEquals:
        absl::StrAppend(&out, key, "=", r.values.at(0));
        break;
      case SelectorOp::kNotEquals:
        absl::StrAppend(&out, key, "!=", r.values.at(0));
        break;
      case SelectorOp::kIn:
        absl::StrAppend(&out, key, " in (", absl::StrJoin(r.values, ","), ")");
        break;
      case SelectorOp::kNotIn:
        absl::StrAppend(&out, key, " notin (", absl::StrJoin(r.values, ","),
                        ")");
        break;
      case SelectorOp::kExists:
        absl::StrAppend(&out, key);
        break;
      case SelectorOp::kNotExists:
        absl::StrAppend(&out, "!", key);
        break;
      case SelectorOp::kMatches:
        absl::StrAppend(&out, key, "~=", r.values.at(0));
        break;
    }
  }
  return out;
}

}  // namespace internal
}  // namespace arbiter
