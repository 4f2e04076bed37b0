#include "src/compiler/names.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

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

std::string CheckName(absl::string_view name, size_t max_length) {
  if (name.empty()) return "missing name";
  if (name.size() > max_length) {
    return absl::StrCat("name of ", name.size(), " bytes exceeds the limit of ",
                        max_length, " (EngineOptions::max_name_length)");
  }
  if (!IsValidUtf8(name))
    return absl::StrCat("name ", Quote(name), " is not valid UTF-8");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F || c == '/') {
      return absl::StrCat("invalid name ", Quote(name),
                          " (no control characters or '/')");
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
