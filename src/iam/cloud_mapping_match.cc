// Matching a workload against one cloud's compiled IAM mapping (see
// cloud_mapping.h). Compiling is in cloud_mapping.cc.

#include <algorithm>

#include "absl/strings/match.h"
#include "src/iam/cloud_mapping.h"
#include "src/internal/hashing.h"

namespace arbiter {
namespace internal {
namespace {

using iam_detail::kProject;
using iam_detail::kType;
using iam_detail::kTypeNames;
using iam_detail::kUser;
using iam_detail::Piece;

uint32_t TypeValue(v1::WorkloadType type) {
  switch (type) {
    case v1::WORKLOAD_TYPE_JOB:
      return 0;
    case v1::WORKLOAD_TYPE_SERVICE:
      return 1;
    case v1::WORKLOAD_TYPE_WORKSPACE:
      return 2;
    default:
      return kNone;
  }
}

// Per-thread scratch for RE2::Set results: reused so that matching user
// patterns does not allocate after a thread's first call (RE2::Set::Match
// itself still allocates a small SparseSet per call).
struct Scratch {
  std::vector<int> hits;
  std::vector<uint64_t> user_bits;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

size_t CloudMapping::CaseInsensitiveLookupHash::operator()(
    absl::string_view s) const {
  return CaseInsensitiveHash()(s);
}

bool CloudMapping::CaseInsensitiveLookupEq::operator()(
    absl::string_view a, absl::string_view b) const {
  return absl::EqualsIgnoreCase(a, b);
}

uint32_t CloudMapping::FindProject(absl::string_view project) const {
  if (project.empty()) return default_project_;
  auto it = project_index_.find(project);
  return it == project_index_.end() ? kNone : it->second;
}

uint32_t CloudMapping::default_project() const {
  return default_project_ == kNone ? kNone : projects_[default_project_].node;
}

void CloudMapping::MatchPatterns(SelectorKey key, absl::string_view text,
                                 std::vector<int>* scratch,
                                 uint64_t* out) const {
  const KeyTable& t = keys_[static_cast<int>(key)];
  std::fill(out, out + t.words, 0);
  RE2::Set::ErrorInfo info;
  info.kind = RE2::Set::kNoError;
  // First ask only whether any pattern matches: that pass allocates nothing
  // and is cheaper than the allocation RE2::Set::Match makes when asked for
  // the matching indices, which it then only makes for a hit.
  if (!t.set->Match(Piece(text), nullptr, &info) &&
      info.kind == RE2::Set::kNoError) {
    return;  // nothing matched
  }
  if (t.set->Match(Piece(text), scratch, &info)) {
    for (int p : *scratch) out[p >> 6] |= uint64_t{1} << (p & 63);
    return;
  }
  if (info.kind == RE2::Set::kNoError) return;  // nothing matched
  // The Set's DFA ran out of memory: ask each pattern (RE2 falls back to its
  // NFA when its own DFA budget runs out, so this always answers).
  for (size_t p = 0; p < t.regexes.size(); ++p) {
    if (RE2::FullMatch(Piece(text), *t.regexes[p])) {
      out[p >> 6] |= uint64_t{1} << (p & 63);
    }
  }
}

bool CloudMapping::SetType(v1::WorkloadType type, IamWorkload* w) const {
  const uint32_t v = TypeValue(type);
  if (v == kNone) {
    if (type != v1::WORKLOAD_TYPE_CLUSTER) return false;
    w->present[kType] = false;
    w->text[kType] = "cluster";
    return true;
  }
  w->present[kType] = true;
  w->value[kType] = v;
  w->text[kType] = kTypeNames[v];
  const size_t words = keys_[kType].words;
  w->bits[kType] = words > 0 ? type_bits_.data() + v * words : nullptr;
  return true;
}

void CloudMapping::SetProject(uint32_t project, IamWorkload* w) const {
  const ProjectInfo& p = projects_[project];
  w->value[kProject] = p.value;
  w->text[kProject] = p.name;
  w->bits[kProject] = p.bits == kNone ? nullptr : project_bits_.data() + p.bits;
}

void CloudMapping::SetUser(absl::string_view email, IamWorkload* w) const {
  w->text[kUser] = email;
  auto it = user_values_.find(email);
  w->value[kUser] = it == user_values_.end() ? kNone : it->second;
  w->bits[kUser] = nullptr;
  w->user_bits_done = false;
}

const uint64_t* CloudMapping::UserBits(IamWorkload* w) const {
  if (w->user_bits_done) return w->bits[kUser];
  w->user_bits_done = true;
  const KeyTable& t = keys_[kUser];
  if (t.words == 0) return nullptr;
  Scratch& scratch = ThreadScratch();
  if (scratch.user_bits.size() < t.words) scratch.user_bits.resize(t.words);
  MatchPatterns(SelectorKey::kUser, w->text[kUser], &scratch.hits,
                scratch.user_bits.data());
  w->bits[kUser] = scratch.user_bits.data();
  return w->bits[kUser];
}

bool CloudMapping::Holds(const Req& q, IamWorkload* w) const {
  const int k = static_cast<int>(q.key);
  // An absent attribute (the type of a plain cluster) satisfies nothing, not
  // even `!=`, `notin` or `!key`: rules that inspect the workload type apply
  // only to jobs, services and workspaces.
  if (!w->present[k]) return false;
  const uint32_t v = w->value[k];
  switch (q.op) {
    case SelectorOp::kEquals:
      return v == q.arg;
    case SelectorOp::kNotEquals:
      return v != q.arg;
    case SelectorOp::kIn:
    case SelectorOp::kNotIn: {
      const uint32_t* begin = set_values_.data() + q.arg;
      const bool found =
          std::find(begin, begin + q.count, v) != begin + q.count;
      return found == (q.op == SelectorOp::kIn);
    }
    case SelectorOp::kExists:
      return true;
    case SelectorOp::kNotExists:
      return false;
    case SelectorOp::kMatches: {
      const uint64_t* bits = k == kUser ? UserBits(w) : w->bits[k];
      if (bits == nullptr) {
        w->error = true;  // patterns exist but results are missing
        return false;
      }
      return (bits[q.arg >> 6] >> (q.arg & 63)) & 1;
    }
  }
  w->error = true;
  return false;
}

bool CloudMapping::RuleHolds(uint32_t rule, IamWorkload* w) const {
  const Rule& r = rules_[rule];
  for (uint32_t i = r.req_begin; i < r.req_end; ++i) {
    if (!Holds(reqs_[i], w)) return false;
  }
  return true;
}

void CloudMapping::Scan(const uint32_t* it, const uint32_t* end, IamWorkload* w,
                        uint32_t* best) const {
  for (; it != end && *it < *best; ++it) {
    if (RuleHolds(*it, w)) {
      *best = *it;
      return;
    }
  }
}

bool CloudMapping::FirstMatch(IamWorkload* w, uint32_t* rule) const {
  // Merge the "always" list and the workload's three equality lists in rule
  // order, so that no rule past the answer is evaluated (evaluating one may
  // cost an RE2::Set pass over the user's email).
  struct Range {
    const uint32_t* it;
    const uint32_t* end;
  };
  Range ranges[1 + kNumSelectorKeys];
  int n = 0;
  if (!always_.empty()) {
    ranges[n++] = Range{always_.data(), always_.data() + always_.size()};
  }
  for (int k : {kUser, kProject, kType}) {
    const KeyTable& t = keys_[k];
    const uint32_t v = w->value[k];
    if (!w->present[k] || v == kNone || v + 1 >= t.eq_begin.size()) continue;
    if (t.eq_begin[v] == t.eq_begin[v + 1]) continue;
    ranges[n++] = Range{t.eq_rules.data() + t.eq_begin[v],
                        t.eq_rules.data() + t.eq_begin[v + 1]};
  }
  uint32_t best = kNoRule;
  while (n > 0) {
    int m = 0;
    for (int j = 1; j < n; ++j) {
      if (*ranges[j].it < *ranges[m].it) m = j;
    }
    const uint32_t r = *ranges[m].it;
    if (RuleHolds(r, w)) {
      best = r;
      break;
    }
    if (++ranges[m].it == ranges[m].end) ranges[m] = ranges[--n];
  }
  // Pattern-anchored rules, only below the best match so far: project and
  // workload-type results are precomputed, user results cost a Set pass.
  for (int k : {kProject, kType, kUser}) {
    const KeyTable& t = keys_[k];
    if (t.first_pattern_rule >= best || !w->present[k]) continue;
    const uint64_t* bits = k == kUser ? UserBits(w) : w->bits[k];
    if (bits == nullptr) return false;  // patterns exist: results must too
    for (size_t word = 0; word < t.words; ++word) {
      for (uint64_t b = bits[word]; b != 0; b &= b - 1) {
        const uint32_t p =
            static_cast<uint32_t>(word * 64 + __builtin_ctzll(b));
        Scan(t.pat_rules.data() + t.pat_begin[p],
             t.pat_rules.data() + t.pat_begin[p + 1], w, &best);
      }
    }
  }
  if (w->error) return false;
  *rule = best;
  return true;
}

int CloudMapping::FirstFailing(uint32_t rule, IamWorkload* w) const {
  const Rule& r = rules_[rule];
  for (uint32_t i = r.req_begin; i < r.req_end; ++i) {
    if (!Holds(reqs_[i], w)) return static_cast<int>(i - r.req_begin);
  }
  return -1;
}

absl::string_view CloudMapping::identity(uint32_t rule) const {
  return rules_[rule].identity;
}

absl::string_view CloudMapping::selector(uint32_t rule) const {
  return rules_[rule].selector;
}

int CloudMapping::num_requirements(uint32_t rule) const {
  return static_cast<int>(rules_[rule].req_end - rules_[rule].req_begin);
}

absl::string_view CloudMapping::requirement_text(uint32_t rule,
                                                 int requirement) const {
  const Req& q = reqs_[rules_[rule].req_begin + requirement];
  return absl::string_view(rules_[rule].selector)
      .substr(q.text_begin, q.text_end - q.text_begin);
}

SelectorKey CloudMapping::requirement_key(uint32_t rule,
                                          int requirement) const {
  return reqs_[rules_[rule].req_begin + requirement].key;
}

}  // namespace internal
}  // namespace arbiter
