#include "src/internal/names.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arbiter {
namespace internal {

std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 64;
  if (value.size() <= kMax)
    return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMax)), "...\" (",
                      value.size(), " bytes)");
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
        (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string CheckId(absl::string_view id, size_t max_length) {
  if (id.empty()) return "missing id";
  if (id.size() > max_length) {
    return absl::StrCat("id of ", id.size(), " bytes exceeds the limit of ",
                        max_length, " (EngineOptions::max_id_length)");
  }
  for (char c : id) {
    if (c <= ' ' || c > '~' || c == '/' || c == '@') {
      return absl::StrCat("invalid id ", Quote(id),
                          " (printable ASCII, no spaces, '/' or '@')");
    }
  }
  return "";
}

namespace {

// The code point at s[*i] of valid UTF-8, advancing *i past it.
uint32_t NextCodePoint(absl::string_view s, size_t* i) {
  const unsigned char c = static_cast<unsigned char>(s[*i]);
  const int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
  uint32_t cp = extra == 0   ? c
                : extra == 1 ? (c & 0x1F)
                : extra == 2 ? (c & 0x0F)
                             : (c & 0x07);
  for (int k = 1; k <= extra; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += extra + 1;
  return cp;
}

// Characters that print as nothing or reorder what follows, so that two
// different names could print identically: C0/C1 controls, format and bidi
// controls, invisible separators and fillers, variation selectors, tags.
bool IsInvisibleOrControl(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD ||
         cp == 0x34F || cp == 0x61C || cp == 0x115F || cp == 0x1160 ||
         cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180F) ||
         (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
         (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0x1D173 && cp <= 0x1D17A) ||
         (cp >= 0xE0000 && cp <= 0xE0FFF);
}

}  // namespace

std::string CheckName(absl::string_view name, size_t max_length) {
  if (name.empty()) return "missing name";
  if (name.size() > max_length) {
    return absl::StrCat("name of ", name.size(), " bytes exceeds the limit of ",
                        max_length, " (EngineOptions::max_name_length)");
  }
  if (!IsValidUtf8(name))
    return absl::StrCat("name ", Quote(name), " is not valid UTF-8");
  for (size_t i = 0; i < name.size();) {
    const uint32_t cp = NextCodePoint(name, &i);
    if (cp == '/' || IsInvisibleOrControl(cp)) {
      return absl::StrCat(
          "invalid name ", Quote(name),
          " (no '/', control, invisible or bidirectional-control characters;",
          absl::StrFormat(" found U+%04X)", cp));
    }
  }
  return "";
}

std::string CheckEmail(absl::string_view email, size_t max_length) {
  if (email.empty()) return "missing email";
  if (email.size() > max_length) {
    return absl::StrCat("email of ", email.size(),
                        " bytes exceeds the limit of ", max_length,
                        " (EngineOptions::max_name_length)");
  }
  size_t at = email.find('@');
  bool ok = at != absl::string_view::npos && at > 0 && at + 1 < email.size() &&
            email.find('@', at + 1) == absl::string_view::npos;
  for (char c : email) ok &= c > ' ' && c <= '~';
  if (!ok) return absl::StrCat("invalid email ", Quote(email));
  return "";
}

}  // namespace internal
}  // namespace arbiter
