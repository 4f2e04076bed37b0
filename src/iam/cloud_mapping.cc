// Compiling one cloud's IAM mapping: selectors, patterns, RE2::Sets and the
// anchor indexes (see cloud_mapping.h). Matching is in
// cloud_mapping_match.cc.

#include "src/iam/cloud_mapping.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/internal/names.h"
#include "src/iam/identity.h"

namespace arbiter {
namespace internal {
namespace {

using iam_detail::kNumTypes;
using iam_detail::kProject;
using iam_detail::kType;
using iam_detail::kTypeNames;
using iam_detail::Piece;

// Every pattern of a key is compiled with these options, alone (to validate
// it against the limits) and inside the key's RE2::Set. User patterns are
// case-insensitive because emails are.
RE2::Options PatternOptions(SelectorKey key, int64_t max_mem) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_case_sensitive(key != SelectorKey::kUser);
  options.set_max_mem(max_mem);
  return options;
}

// The RE2::Set of n patterns may use n times the per-pattern budget, within
// [8 MiB, 256 MiB]. Its DFA allocates lazily; when it runs out, matching
// falls back to the individual patterns (slower, never wrong).
int64_t SetMemoryBudget(const EngineOptions& options, size_t n) {
  constexpr int64_t kMin = int64_t{8} << 20;
  constexpr int64_t kMax = int64_t{256} << 20;
  const int64_t per = std::max<int64_t>(options.max_regex_memory, 1);
  if (static_cast<int64_t>(n) > kMax / per) return kMax;
  return std::clamp<int64_t>(per * static_cast<int64_t>(n), kMin, kMax);
}

// Anchor tiers, best first: equality on the selective keys, patterns (project
// results are precomputed, user results cost one RE2::Set pass), then the
// three-valued workload type.
int AnchorTier(SelectorKey key, SelectorOp op) {
  const bool eq = op == SelectorOp::kEquals || op == SelectorOp::kIn;
  const bool pattern = op == SelectorOp::kMatches;
  if (!eq && !pattern) return -1;
  switch (key) {
    case SelectorKey::kUser:
    case SelectorKey::kProject:
      if (eq) return 0;
      return key == SelectorKey::kProject ? 1 : 2;
    case SelectorKey::kWorkloadType:
      return eq ? 3 : 4;
  }
  return -1;
}

}  // namespace

CloudMapping::~CloudMapping() = default;

std::unique_ptr<CloudMapping> CloudMapping::Build(const v1::IamMapping& mapping,
                                                  int cloud_index,
                                                  absl::string_view cloud_id,
                                                  const EngineOptions& options,
                                                  Diagnostics& diag) {
  const std::string path =
      absl::StrCat("clouds[", cloud_index, "].iam_mapping");
  const std::string suffix = absl::StrCat(" in cloud ", Quote(cloud_id));
  auto m = absl::WrapUnique(new CloudMapping());
  bool ok = true;
  switch (mapping.default_behavior()) {
    case v1::IamMapping::DEFAULT_BEHAVIOR_UNSPECIFIED:
    case v1::IamMapping::CLOUD_DEFAULT:
      m->fail_by_default_ = false;
      break;
    case v1::IamMapping::FAIL:
      m->fail_by_default_ = true;
      break;
    default:
      diag.Add(
          absl::StrCat(path, ".default_behavior"),
          absl::StrCat("unknown default behavior ",
                       static_cast<int>(mapping.default_behavior()), suffix));
      ok = false;
      break;
  }
  if (!mapping.default_identity().empty()) {
    const std::string problem =
        CheckIamIdentity(mapping.default_identity(), options.max_name_length);
    if (!problem.empty()) {
      diag.Add(absl::StrCat(path, ".default_identity"),
               absl::StrCat(problem, suffix));
      ok = false;
    }
    m->default_identity_ = mapping.default_identity();
  }
  const size_t num_rules = mapping.rules_size();
  if (num_rules > options.max_iam_rules_per_cloud) {
    diag.Add(absl::StrCat(path, ".rules"),
             absl::StrCat(num_rules, " rules exceed the limit of ",
                          options.max_iam_rules_per_cloud,
                          " (EngineOptions::max_iam_rules_per_cloud)", suffix));
    return nullptr;
  }
  m->rules_.reserve(num_rules);
  for (size_t i = 0; i < num_rules; ++i) {
    if (!m->CompileRule(mapping.rules(i), static_cast<int>(i), path, suffix,
                        options, diag)) {
      ok = false;
      if (diag.full()) return nullptr;
    }
  }
  if (!ok || !m->Finish(path, suffix, options, diag)) return nullptr;
  return m;
}

bool CloudMapping::CompileRule(const v1::IamMappingRule& rule, int rule_index,
                               absl::string_view path, absl::string_view suffix,
                               const EngineOptions& options,
                               Diagnostics& diag) {
  const std::string rule_path = absl::StrCat(path, ".rules[", rule_index, "]");
  bool ok = true;
  const std::string problem =
      CheckIamIdentity(rule.identity(), options.max_name_length);
  if (!problem.empty()) {
    diag.Add(absl::StrCat(rule_path, ".identity"),
             absl::StrCat(problem, suffix));
    ok = false;
  }
  const std::string selector_path = absl::StrCat(rule_path, ".selector");
  const std::string& text = rule.selector();
  if (text.size() > options.max_selector_length) {
    diag.Add(selector_path,
             absl::StrCat("selector of ", text.size(),
                          " bytes exceeds the limit of ",
                          options.max_selector_length,
                          " (EngineOptions::max_selector_length)", suffix));
    return false;
  }
  absl::StatusOr<ParsedSelector> parsed = ParseSelector(text);
  if (!parsed.ok()) {
    diag.Add(selector_path, absl::StrCat(parsed.status().message(), suffix));
    return false;
  }
  Rule r;
  r.req_begin = static_cast<uint32_t>(reqs_.size());
  std::vector<uint32_t> ids;
  for (const SelectorRequirement& sr : parsed->requirements) {
    Req q{sr.key,
          sr.op,
          0,
          0,
          static_cast<uint32_t>(sr.begin),
          static_cast<uint32_t>(sr.end)};
    switch (sr.op) {
      case SelectorOp::kEquals:
      case SelectorOp::kNotEquals:
        q.arg = Intern(sr.key, sr.values[0]);
        break;
      case SelectorOp::kIn:
      case SelectorOp::kNotIn:
        ids.clear();
        for (const std::string& v : sr.values) ids.push_back(Intern(sr.key, v));
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        q.arg = static_cast<uint32_t>(set_values_.size());
        q.count = static_cast<uint32_t>(ids.size());
        set_values_.insert(set_values_.end(), ids.begin(), ids.end());
        break;
      case SelectorOp::kMatches: {
        std::string pattern_problem;
        q.arg = AddPattern(sr.key, sr.values[0], options, &pattern_problem);
        if (q.arg == kNone) {
          diag.Add(selector_path,
                   absl::StrCat("column ", sr.value_offsets[0] + 1, ": ",
                                pattern_problem, suffix));
          ok = false;
        }
        break;
      }
      case SelectorOp::kExists:
      case SelectorOp::kNotExists:
        break;
    }
    reqs_.push_back(q);
  }
  r.req_end = static_cast<uint32_t>(reqs_.size());
  r.identity = rule.identity();
  r.selector = text;
  rules_.push_back(std::move(r));
  return ok;
}

uint32_t CloudMapping::Intern(SelectorKey key, absl::string_view value) {
  switch (key) {
    case SelectorKey::kWorkloadType:
      for (uint32_t t = 0; t < kNumTypes; ++t) {
        if (kTypeNames[t] == value) return t;
      }
      return kNone;  // the parser accepts only the three names
    case SelectorKey::kProject:
      return project_values_
          .emplace(std::string(value),
                   static_cast<uint32_t>(project_values_.size()))
          .first->second;
    case SelectorKey::kUser:
      return user_values_
          .emplace(absl::AsciiStrToLower(value),
                   static_cast<uint32_t>(user_values_.size()))
          .first->second;
  }
  return kNone;
}

uint32_t CloudMapping::AddPattern(SelectorKey key, absl::string_view pattern,
                                  const EngineOptions& options,
                                  std::string* problem) {
  const int k = static_cast<int>(key);
  KeyTable& t = keys_[k];
  auto it = pattern_ids_[k].find(pattern);
  if (it != pattern_ids_[k].end()) return it->second;
  auto re = std::make_unique<RE2>(
      Piece(pattern), PatternOptions(key, options.max_regex_memory));
  if (!re->ok()) {
    if (re->error_code() == RE2::ErrorPatternTooLarge) {
      *problem = absl::StrCat(
          "pattern ", Quote(pattern), " exceeds the regex memory limit of ",
          options.max_regex_memory, " bytes (EngineOptions::max_regex_memory)");
    } else {
      *problem =
          absl::StrCat("invalid pattern ", Quote(pattern), ": ", re->error());
    }
    return kNone;
  }
  const int size = re->ProgramSize();
  if (size > options.max_regex_program_size) {
    *problem =
        absl::StrCat("pattern ", Quote(pattern), " has program size ", size,
                     ", over the limit of ", options.max_regex_program_size,
                     " (EngineOptions::max_regex_program_size)");
    return kNone;
  }
  const uint32_t id = static_cast<uint32_t>(t.patterns.size());
  t.patterns.emplace_back(pattern);
  t.regexes.push_back(std::move(re));
  pattern_ids_[k].emplace(std::string(pattern), id);
  return id;
}

bool CloudMapping::Finish(absl::string_view path, absl::string_view suffix,
                          const EngineOptions& options, Diagnostics& diag) {
  // Batch each key's patterns into one RE2::Set.
  for (int k = 0; k < kNumSelectorKeys; ++k) {
    KeyTable& t = keys_[k];
    pattern_ids_[k] = {};
    t.words = (t.patterns.size() + 63) / 64;
    if (t.patterns.empty()) continue;
    const SelectorKey key = static_cast<SelectorKey>(k);
    const int64_t budget = SetMemoryBudget(options, t.patterns.size());
    t.set = std::make_unique<RE2::Set>(PatternOptions(key, budget),
                                       RE2::ANCHOR_BOTH);
    for (size_t p = 0; p < t.patterns.size(); ++p) {
      std::string error;
      if (t.set->Add(Piece(t.patterns[p]), &error) != static_cast<int>(p)) {
        diag.Add(path,
                 absl::StrCat("internal error: RE2::Set rejected pattern ",
                              Quote(t.patterns[p]), ": ", error, suffix));
        return false;
      }
    }
    if (!t.set->Compile()) {
      diag.Add(path, absl::StrCat("the ", t.patterns.size(), " ",
                                  SelectorKeyName(key),
                                  " patterns exceed the RE2::Set memory budget "
                                  "of ",
                                  budget, " bytes", suffix));
      return false;
    }
  }

  // File every rule under its anchor (see the header), in rule order so that
  // every list is sorted.
  const size_t num_values[kNumSelectorKeys] = {
      kNumTypes, project_values_.size(), user_values_.size()};
  for (int k = 0; k < kNumSelectorKeys; ++k) {
    keys_[k].eq_begin.assign(num_values[k] + 1, 0);
    keys_[k].pat_begin.assign(keys_[k].patterns.size() + 1, 0);
  }
  std::vector<uint32_t> anchor(rules_.size(), kNone);  // index into reqs_
  for (uint32_t r = 0; r < rules_.size(); ++r) {
    int best_tier = std::numeric_limits<int>::max();
    uint32_t best_count = 0;
    for (uint32_t i = rules_[r].req_begin; i < rules_[r].req_end; ++i) {
      const Req& q = reqs_[i];
      const int tier = AnchorTier(q.key, q.op);
      if (tier < 0) continue;
      const uint32_t count = q.op == SelectorOp::kIn ? q.count : 1;
      if (tier < best_tier || (tier == best_tier && count < best_count)) {
        best_tier = tier;
        best_count = count;
        anchor[r] = i;
      }
    }
  }
  // Two passes: count, then fill.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<uint32_t> eq_fill[kNumSelectorKeys];
    std::vector<uint32_t> pat_fill[kNumSelectorKeys];
    if (pass == 1) {
      for (int k = 0; k < kNumSelectorKeys; ++k) {
        KeyTable& t = keys_[k];
        for (size_t v = 1; v < t.eq_begin.size(); ++v) {
          t.eq_begin[v] += t.eq_begin[v - 1];
        }
        for (size_t p = 1; p < t.pat_begin.size(); ++p) {
          t.pat_begin[p] += t.pat_begin[p - 1];
        }
        t.eq_rules.resize(t.eq_begin.back());
        t.pat_rules.resize(t.pat_begin.back());
        eq_fill[k].assign(t.eq_begin.begin(), t.eq_begin.end() - 1);
        pat_fill[k].assign(t.pat_begin.begin(), t.pat_begin.end() - 1);
      }
    }
    for (uint32_t r = 0; r < rules_.size(); ++r) {
      if (anchor[r] == kNone) {
        if (pass == 1) always_.push_back(r);
        continue;
      }
      const Req& q = reqs_[anchor[r]];
      const int k = static_cast<int>(q.key);
      KeyTable& t = keys_[k];
      if (q.op == SelectorOp::kMatches) {
        if (pass == 0) {
          ++t.pat_begin[q.arg + 1];
          t.first_pattern_rule = std::min(t.first_pattern_rule, r);
        } else {
          t.pat_rules[pat_fill[k][q.arg]++] = r;
        }
        continue;
      }
      const uint32_t n = q.op == SelectorOp::kIn ? q.count : 1;
      for (uint32_t j = 0; j < n; ++j) {
        const uint32_t v =
            q.op == SelectorOp::kIn ? set_values_[q.arg + j] : q.arg;
        if (pass == 0) {
          ++t.eq_begin[v + 1];
        } else {
          t.eq_rules[eq_fill[k][v]++] = r;
        }
      }
    }
  }

  // Workload-type pattern results, once per type.
  const KeyTable& types = keys_[kType];
  if (types.words > 0) {
    type_bits_.assign(kNumTypes * types.words, 0);
    std::vector<int> scratch;
    for (uint32_t t = 0; t < kNumTypes; ++t) {
      MatchPatterns(SelectorKey::kWorkloadType, kTypeNames[t], &scratch,
                    type_bits_.data() + t * types.words);
    }
  }
  return true;
}

void CloudMapping::AddProject(uint32_t node, absl::string_view id,
                              absl::string_view name, bool is_default) {
  ProjectInfo info;
  info.node = node;
  info.id = id;
  info.name = name;
  auto it = project_values_.find(name);
  info.value = it == project_values_.end() ? kNone : it->second;
  info.bits = kNone;
  const KeyTable& t = keys_[kProject];
  if (t.words > 0) {
    info.bits = static_cast<uint32_t>(project_bits_.size());
    project_bits_.resize(project_bits_.size() + t.words);
    std::vector<int> scratch;
    MatchPatterns(SelectorKey::kProject, name, &scratch,
                  project_bits_.data() + info.bits);
  }
  if (is_default) default_project_ = static_cast<uint32_t>(projects_.size());
  projects_.push_back(info);
}

void CloudMapping::FinishProjects() {
  project_index_.reserve(2 * projects_.size());
  for (uint32_t i = 0; i < projects_.size(); ++i) {
    project_index_.emplace(projects_[i].name, i);
  }
  // Ids are unique across the snapshot; one that equals a sibling's name
  // still means the project it identifies.
  for (uint32_t i = 0; i < projects_.size(); ++i) {
    project_index_[projects_[i].id] = i;
  }
}

size_t CloudMapping::MemoryUsage() const {
  size_t bytes =
      sizeof(*this) + rules_.capacity() * sizeof(Rule) +
      reqs_.capacity() * sizeof(Req) +
      set_values_.capacity() * sizeof(uint32_t) +
      always_.capacity() * sizeof(uint32_t) +
      project_bits_.capacity() * sizeof(uint64_t) +
      type_bits_.capacity() * sizeof(uint64_t) +
      projects_.capacity() * (sizeof(uint32_t) + sizeof(ProjectInfo)) +
      default_identity_.capacity();
  for (const Rule& r : rules_) {
    bytes += r.identity.capacity() + r.selector.capacity();
  }
  for (const auto& [value, id] : project_values_) {
    bytes += sizeof(value) + sizeof(id) + value.capacity();
  }
  for (const auto& [value, id] : user_values_) {
    bytes += sizeof(value) + sizeof(id) + value.capacity();
  }
  for (const KeyTable& t : keys_) {
    bytes += (t.eq_begin.capacity() + t.eq_rules.capacity() +
              t.pat_begin.capacity() + t.pat_rules.capacity()) *
             sizeof(uint32_t);
    for (size_t p = 0; p < t.patterns.size(); ++p) {
      // RE2 does not report its footprint; its program is a fair proxy
      // (about 16 bytes per instruction) plus the object itself.
      bytes += t.patterns[p].capacity() + sizeof(RE2) +
               16 * static_cast<size_t>(t.regexes[p]->ProgramSize());
    }
    if (t.set != nullptr)
      bytes += sizeof(RE2::Set) + 16 * 64 * t.patterns.size();
  }
  return bytes;
}

}  // namespace internal
}  // namespace arbiter
