#include "tools/query_line.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace arbiter {
namespace cli {
namespace {

enum Slot { kPrincipal, kPermission, kResource, kOrg, kChannel, kAt, kId };

struct Key {
  absl::string_view name;
  Slot slot;
};
constexpr Key kKeys[] = {
    {"principal", kPrincipal},
    {"permission", kPermission},
    {"resource", kResource},
    {"org", kOrg},
    {"channel", kChannel},
    {"at", kAt},
    {"id", kId},
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The length of the well-formed UTF-8 sequence (RFC 3629) starting at
// s[pos], a byte >= 0x80; 0 if it is not one.
size_t Utf8Length(absl::string_view s, size_t pos) {
  const auto at = [&](size_t i) -> unsigned {
    return pos + i < s.size() ? static_cast<unsigned char>(s[pos + i]) : 0;
  };
  const unsigned c = at(0);
  const auto cont = [&](size_t i) { return (at(i) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", pos_ + 1, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  size_t pos() const { return pos_; }

  // Reads a string literal at the cursor (which is on the opening quote).
  // Without escapes the result views the input; otherwise it is decoded into
  // `buffer`.
  absl::Status String(absl::string_view* out, std::string* buffer) {
    ++pos_;
    const size_t start = pos_;
    // Skip 8 plain ASCII bytes at a time: no '"', no '\\', no control
    // character, no byte >= 0x80.
    while (pos_ + 8 <= s_.size()) {
      uint64_t x;
      std::memcpy(&x, s_.data() + pos_, 8);
      constexpr uint64_t kOnes = 0x0101010101010101ull;
      constexpr uint64_t kHigh = 0x8080808080808080ull;
      const uint64_t quote = x ^ (kOnes * '"');
      const uint64_t backslash = x ^ (kOnes * '\\');
      const uint64_t special = ((quote - kOnes) & ~quote) |
                               ((backslash - kOnes) & ~backslash) |
                               ((x - kOnes * 0x20) & ~x);
      if (((special | x) & kHigh) != 0) break;
      pos_ += 8;
    }
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '"') {
        *out = s_.substr(start, pos_ - start);
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '\\') break;
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string");
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        const size_t n = Utf8Length(s_, pos_);
        if (n == 0) return Error("invalid UTF-8 in string");
        pos_ += n;
        continue;
      }
      ++pos_;
    }
    if (pos_ >= s_.size()) return Error("unterminated string");
    // Slow path: escapes.
    buffer->assign(s_.data() + start, pos_ - start);
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        *out = *buffer;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string");
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        const size_t n = Utf8Length(s_, pos_);
        if (n == 0) return Error("invalid UTF-8 in string");
        buffer->append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        buffer->push_back(c);
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          buffer->push_back(e);
          break;
        case 'b':
          buffer->push_back('\b');
          break;
        case 'f':
          buffer->push_back('\f');
          break;
        case 'n':
          buffer->push_back('\n');
          break;
        case 'r':
          buffer->push_back('\r');
          break;
        case 't':
          buffer->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return Error("invalid \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (!Consume('\\') || !Consume('u') || !Hex4(&low) ||
                low < 0xDC00 || low > 0xDFFF) {
              return Error("unpaired surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("unpaired surrogate in \\u escape");
          }
          AppendUtf8(cp, buffer);
          break;
        }
        default:
          --pos_;
          return Error("invalid escape in string");
      }
    }
    return Error("unterminated string");
  }

  // A JSON number, strictly by the grammar; returns its text.
  absl::Status Number(absl::string_view* out) {
    const size_t start = pos_;
    Consume('-');
    if (Consume('0')) {
      // JSON has no leading zeros: "01" is not the number 0 followed by junk
      // (whose error row would echo the id as 0), it is not a number.
      if (IsDigit(Peek())) {
        pos_ = start;
        return Error("invalid number: leading zeros are not allowed");
      }
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return Error("invalid number");
    }
    if (Consume('.')) {
      if (!IsDigit(Peek())) return Error("invalid number");
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return Error("invalid number");
      while (IsDigit(Peek())) ++pos_;
    }
    *out = s_.substr(start, pos_ - start);
    return absl::OkStatus();
  }

  bool Literal(absl::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

 private:
  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = HexValue(s_[pos_ + i]);
      if (h < 0) return false;
      v = (v << 4) | static_cast<uint32_t>(h);
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

bool IsBlankLine(absl::string_view line) {
  for (char c : line) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

absl::Status ParseQueryLine(absl::string_view line, QueryLine* out,
                            QueryScratch* scratch) {
  *out = QueryLine();
  Scanner sc(line);
  sc.SkipSpace();
  if (!sc.Consume('{'))
    return sc.Error("expected '{' (one JSON object per line)");
  absl::string_view* const fields[] = {&out->principal, &out->permission,
                                       &out->resource,  &out->org,
                                       &out->channel,   &out->at};
  uint32_t seen = 0;
  sc.SkipSpace();
  if (!sc.Consume('}')) {
    std::string key_buffer;
    while (true) {
      sc.SkipSpace();
      if (sc.Peek() != '"') return sc.Error("expected a key in double quotes");
      const size_t key_pos = sc.pos();
      absl::string_view key;
      absl::Status status = sc.String(&key, &key_buffer);
      if (!status.ok()) return status;
      const Key* match = nullptr;
      for (const Key& k : kKeys) {
        if (k.name == key) {
          match = &k;
          break;
        }
      }
      if (match == nullptr) {
        std::string shown;
        AppendJsonString(key.substr(0, 64), &shown);
        return absl::InvalidArgumentError(absl::StrCat(
            "column ", key_pos + 1, ": unknown key ", shown,
            " (expected principal, permission, resource, org, channel, at, "
            "id)"));
      }
      if (seen & (1u << match->slot)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "column ", key_pos + 1, ": duplicate key \"", match->name, "\""));
      }
      seen |= 1u << match->slot;
      sc.SkipSpace();
      if (!sc.Consume(':')) return sc.Error("expected ':'");
      sc.SkipSpace();
      const char c = sc.Peek();
      if (match->slot == kId) {
        const size_t start = sc.pos();
        absl::string_view value;
        if (c == '"') {
          std::string ignored;
          status = sc.String(&value, &ignored);
          if (!status.ok()) return status;
          out->id = line.substr(start, sc.pos() - start);
        } else if (c == '-' || IsDigit(c)) {
          status = sc.Number(&value);
          if (!status.ok()) return status;
          out->id = value;
        } else if (!sc.Literal("null")) {
          return sc.Error("\"id\" must be a string or a number");
        }
      } else if (c == '"') {
        status = sc.String(fields[match->slot], &scratch->strings[match->slot]);
        if (!status.ok()) return status;
      } else if (!sc.Literal("null")) {
        return sc.Error(absl::StrCat("\"", match->name, "\" must be a string"));
      }
      sc.SkipSpace();
      if (sc.Consume(',')) continue;
      if (sc.Consume('}')) break;
      return sc.Error("expected ',' or '}'");
    }
  }
  sc.SkipSpace();
  if (!sc.AtEnd()) return sc.Error("unexpected text after the object");
  if (out->principal.empty())
    return absl::InvalidArgumentError("missing \"principal\"");
  if (out->permission.empty())
    return absl::InvalidArgumentError("missing \"permission\"");
  if (out->resource.empty())
    return absl::InvalidArgumentError("missing \"resource\"");
  return absl::OkStatus();
}

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of plain bytes
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8Length(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out->append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c >= 0x80) {
          out->append("\\ufffd");  // not UTF-8: keep the output valid JSON
        } else {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out->append(esc, sizeof(esc));
        }
    }
    ++i;
    run = i;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace cli
}  // namespace arbiter
