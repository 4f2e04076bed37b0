// A deliberately naive interpreter of cloud IAM mapping, written from the
// specification (docs/iam-mapping.md) and sharing no code with src/iam/: it
// re-reads the selector text on every call, recognizes each requirement form
// with an anchored regular expression, and compiles every `~=` pattern with
// RE2 on use (memoized by text). The differential test compares it with the
// indexed engine. Header-only: tests/iam/ holds no library sources.

#ifndef ARBITER_TESTS_IAM_NAIVE_IAM_H_
#define ARBITER_TESTS_IAM_NAIVE_IAM_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "re2/re2.h"

namespace arbiter {
namespace testing {

struct NaiveLimits {
  size_t max_selector_length = 4096;
  int max_regex_program_size = 1000;
  int64_t max_regex_memory = 1 << 20;
  size_t max_identity_length = 1024;
};

// The workload as the specification describes it.
struct NaiveWorkload {
  std::string type;     // "job", "service", "workspace" or "cluster"
  std::string project;  // the project's name (default project already applied)
  std::string user;     // the email, in any case
};

// A principal as the specification describes it.
struct NaivePrincipal {
  std::string id;
  std::string email;  // any case
  std::string org;    // organization id
  std::string state;  // "active", "deleted" or "invited"
};

// The user step of a resolution: the email that the rules see, or why the
// launch fails (an IamReasonName).
struct NaiveUser {
  bool ok = false;
  std::string email;
  std::string failure;
};

// docs/iam-mapping.md, "The user": `user` must name an active principal of
// `cloud_org`, by id or by email (any case). A deleted principal counts only
// when no live one of the organization holds the email; an email that only
// principals of other organizations hold is CROSS_ORG; an email no principal
// holds is UNKNOWN_PRINCIPAL, or matched as given when `match_unknown`.
inline NaiveUser NaiveResolveUser(const std::vector<NaivePrincipal>& directory,
                                  const std::string& cloud_org,
                                  const std::string& user, bool match_unknown,
                                  size_t max_length) {
  NaiveUser out;
  out.failure = "INVALID_USER";
  if (user.empty() || user.size() > max_length) return out;
  const NaivePrincipal* chosen = nullptr;
  if (user.find('@') == std::string::npos) {
    for (const NaivePrincipal& p : directory) {
      if (p.id == user) chosen = &p;
    }
    if (chosen == nullptr) return out;
  } else {
    const std::vector<std::string> parts = absl::StrSplit(user, '@');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return out;
    for (char c : user) {
      if (c <= ' ' || c > '~') return out;
    }
    const std::string lower = absl::AsciiStrToLower(user);
    bool elsewhere = false;
    for (const NaivePrincipal& p : directory) {
      if (absl::AsciiStrToLower(p.email) != lower) continue;
      if (p.org != cloud_org) {
        elsewhere = true;
      } else if (chosen == nullptr || chosen->state == "deleted") {
        chosen = &p;  // a live one replaces a deleted one
      }
    }
    if (chosen == nullptr) {
      if (elsewhere) {
        out.failure = "CROSS_ORG";
        return out;
      }
      if (!match_unknown) {
        out.failure = "UNKNOWN_PRINCIPAL";
        return out;
      }
      out.ok = true;
      out.failure.clear();
      out.email = user;
      return out;
    }
  }
  out.email = chosen->email;
  if (chosen->org != cloud_org) {
    out.failure = "CROSS_ORG";
  } else if (chosen->state == "deleted") {
    out.failure = "PRINCIPAL_DELETED";
  } else if (chosen->state == "invited") {
    out.failure = "PRINCIPAL_INVITED";
  } else {
    out.ok = true;
    out.failure.clear();
  }
  return out;
}

// One requirement, as written.
struct NaiveRequirement {
  std::string key;
  std::string op;  // "=", "!=", "in", "notin", "exists", "!exists", "~="
  std::vector<std::string> values;
  std::string text;  // trimmed
};

class NaiveIam {
 public:
  explicit NaiveIam(NaiveLimits limits) : limits_(limits) {}

  // The requirements of `selector`, or nullopt when it is invalid (syntax,
  // unknown key or workload type, pattern that does not compile or is over
  // the limits, too long).
  absl::optional<std::vector<NaiveRequirement>> Parse(
      absl::string_view selector) {
    if (selector.size() > limits_.max_selector_length) return absl::nullopt;
    for (char c : selector) {
      const unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) return absl::nullopt;
    }
    std::vector<NaiveRequirement> out;
    re2::StringPiece rest(selector.data(), selector.size());
    static const RE2 kBlank("[ \\t]*");
    if (RE2::FullMatch(rest, kBlank)) return out;
    static const RE2 kSetOp(
        "[ \\t]*([A-Za-z0-9._/-]+)[ \\t]+(in|notin)[ \\t]*\\(([^)]*)\\)"
        "[ \\t]*");
    static const RE2 kBinary(
        "[ \\t]*([A-Za-z0-9._/-]+)[ \\t]*(==|=|!=)[ \\t]*([A-Za-z0-9@.+_-]+)"
        "[ \\t]*");
    static const RE2 kMatchHead("[ \\t]*([A-Za-z0-9._/-]+)[ \\t]*~=[ \\t]*");
    static const RE2 kNotExists("[ \\t]*![ \\t]*([A-Za-z0-9._/-]+)[ \\t]*");
    static const RE2 kExists("[ \\t]*([A-Za-z0-9._/-]+)[ \\t]*");
    while (true) {
      NaiveRequirement r;
      std::string op, list, value;
      const char* start = rest.data();
      const char* pattern_end = nullptr;
      if (RE2::Consume(&rest, kSetOp, &r.key, &op, &list)) {
        r.op = op;
        for (absl::string_view v : absl::StrSplit(list, ',')) {
          v = absl::StripAsciiWhitespace(v);
          if (!IsValue(v)) return absl::nullopt;
          r.values.emplace_back(v);
        }
      } else if (RE2::Consume(&rest, kBinary, &r.key, &op, &value)) {
        r.op = op == "!=" ? "!=" : "=";
        r.values.push_back(value);
      } else if (RE2::Consume(&rest, kMatchHead, &r.key)) {
        r.op = "~=";
        size_t significant;
        const size_t n = PatternLength(rest, &significant);
        if (significant == 0) return absl::nullopt;
        r.values.emplace_back(rest.data(), significant);
        pattern_end = rest.data() + significant;
        rest.remove_prefix(n);
      } else if (RE2::Consume(&rest, kNotExists, &r.key)) {
        r.op = "!exists";
      } else if (RE2::Consume(&rest, kExists, &r.key)) {
        r.op = "exists";
      } else {
        return absl::nullopt;
      }
      if (r.key != "workload-type" && r.key != "project" && r.key != "user") {
        return absl::nullopt;
      }
      if (r.key == "workload-type" && r.op != "~=") {
        for (const std::string& v : r.values) {
          if (v != "job" && v != "service" && v != "workspace") {
            return absl::nullopt;
          }
        }
      }
      if (r.op == "~=" && Regex(r.key, r.values[0]) == nullptr) {
        return absl::nullopt;
      }
      // As written, without surrounding spaces (a pattern keeps an escaped
      // trailing space).
      r.text = std::string(absl::StripLeadingAsciiWhitespace(absl::string_view(
          start,
          (pattern_end != nullptr ? pattern_end : rest.data()) - start)));
      if (pattern_end == nullptr) {
        r.text = std::string(absl::StripTrailingAsciiWhitespace(r.text));
      }
      out.push_back(std::move(r));
      if (rest.empty()) return out;
      if (rest[0] != ',') return absl::nullopt;
      rest.remove_prefix(1);
      if (RE2::FullMatch(rest, kBlank)) return absl::nullopt;  // "a=b,"
    }
  }

  // Whether one requirement holds for `w`.
  bool Holds(const NaiveRequirement& r, const NaiveWorkload& w) {
    std::string attribute;
    if (r.key == "workload-type") {
      if (w.type == "cluster") return false;  // clusters have no type
      attribute = w.type;
    } else if (r.key == "project") {
      attribute = w.project;
    } else {
      attribute = absl::AsciiStrToLower(w.user);
    }
    auto normalize = [&](const std::string& v) {
      return r.key == "user" ? absl::AsciiStrToLower(v) : v;
    };
    bool in = false;
    for (const std::string& v : r.values) in = in || normalize(v) == attribute;
    if (r.op == "=" || r.op == "in") return in;
    if (r.op == "!=" || r.op == "notin") return !in;
    if (r.op == "exists") return true;
    if (r.op == "!exists") return false;
    return RE2::FullMatch(attribute, *Regex(r.key, r.values[0]));
  }

  // The index of the first requirement of `selector` that fails, -1 when
  // all hold, -2 when the selector is invalid.
  int FirstFailing(absl::string_view selector, const NaiveWorkload& w,
                   std::string* text = nullptr) {
    absl::optional<std::vector<NaiveRequirement>> reqs = Parse(selector);
    if (!reqs.has_value()) return -2;
    for (size_t i = 0; i < reqs->size(); ++i) {
      if (!Holds((*reqs)[i], w)) {
        if (text != nullptr) *text = (*reqs)[i].text;
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  bool ValidIdentity(absl::string_view identity) const {
    if (identity.empty() || identity.size() > limits_.max_identity_length) {
      return false;
    }
    for (char c : identity) {
      if (c <= ' ' || c > '~') return false;
    }
    return !absl::StartsWithIgnoreCase(identity, "arn:");
  }

 private:
  static bool IsValue(absl::string_view v) {
    static const RE2 kValue("[A-Za-z0-9@.+_-]+");
    return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), kValue);
  }

  // The length of the pattern region at the start of `s`: up to the first
  // comma that is outside (...), [...], {n,m} and \Q...\E. `*significant`
  // receives the length without trailing unescaped spaces and tabs.
  static size_t PatternLength(re2::StringPiece s, size_t* significant) {
    enum State { kNormal, kClass, kQuote } state = kNormal;
    int depth = 0;
    size_t class_start = 0;
    size_t sig = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      switch (state) {
        case kQuote:
          if (c == '\\' && i + 1 < s.size() && s[i + 1] == 'E') {
            state = kNormal;
            ++i;
          }
          sig = i + 1;
          break;
        case kClass:
          if (c == '\\') {
            ++i;
          } else if (c == '[' && i + 1 < s.size() && s[i + 1] == ':') {
            // A POSIX class [:name:] ends at the next ":]" if any.
            for (size_t j = i + 2; j + 1 < s.size(); ++j) {
              if (s[j] == ':' && s[j + 1] == ']') {
                i = j + 1;
                break;
              }
            }
          } else if (c == ']') {
            // A ']' right after '[' or '[^' is a literal.
            size_t first = class_start + 1;
            if (first < s.size() && s[first] == '^') ++first;
            if (i != first) state = kNormal;
          }
          sig = i + 1;
          break;
        case kNormal:
          if (c == ',' && depth == 0) {
            *significant = sig;
            return i;
          }
          if (c == '\\') {
            if (i + 1 < s.size() && s[i + 1] == 'Q') state = kQuote;
            ++i;
            sig = i + 1;
          } else if (c == '[') {
            state = kClass;
            class_start = i;
            sig = i + 1;
          } else if (c == '{') {
            size_t j = i + 1;
            bool digits = false;
            while (j < s.size() && absl::ascii_isdigit(s[j])) {
              ++j;
              digits = true;
            }
            if (digits && j < s.size() && s[j] == ',') {
              ++j;
              while (j < s.size() && absl::ascii_isdigit(s[j])) ++j;
            }
            if (digits && j < s.size() && s[j] == '}') i = j;
            sig = i + 1;
          } else {
            if (c == '(') ++depth;
            if (c == ')' && depth > 0) --depth;
            if (c != ' ' && c != '\t') sig = i + 1;
          }
          break;
      }
    }
    *significant = sig < s.size() ? sig : s.size();
    return s.size();
  }

  // nullptr when the pattern is invalid or over the limits.
  const RE2* Regex(const std::string& key, const std::string& pattern) {
    const std::string cache_key = key + '\0' + pattern;
    auto it = cache_.find(cache_key);
    if (it == cache_.end()) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_never_capture(true);
      options.set_case_sensitive(key != "user");
      options.set_max_mem(limits_.max_regex_memory);
      auto re = std::make_unique<RE2>(pattern, options);
      if (!re->ok() || re->ProgramSize() > limits_.max_regex_program_size) {
        re = nullptr;
      }
      it = cache_.emplace(cache_key, std::move(re)).first;
    }
    return it->second.get();
  }

  NaiveLimits limits_;
  std::map<std::string, std::unique_ptr<RE2>> cache_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_IAM_NAIVE_IAM_H_
