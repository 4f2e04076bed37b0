// Seeded randomized differential test of cloud IAM mapping: random rule
// lists (valid and invalid selectors, every operator, patterns with commas,
// odd spacing, random case) and random workloads, compiled and resolved by
// the indexed engine (src/iam/) and by a naive interpreter of the selector
// text (tests/iam/naive_iam.h). They must agree on which rules are invalid,
// on every decision, and on every explanation. Users are principal ids and
// emails of active, deleted and invited principals of the cloud's
// organization and of another one, and emails no principal holds; each rule
// list runs with EngineOptions::iam_match_unknown_users on or off.
//
// Sizes and replay (environment):
//   ARBITER_IAM_DIFF_RULE_LISTS   random rule lists (default 100,000)
//   ARBITER_IAM_DIFF_WORKLOADS    workloads per rule list (default 10)
//   ARBITER_IAM_DIFF_BASE_SEED    seed of the first rule list (default 1);
//                                 list i uses seed base + i
//   ARBITER_IAM_DIFF_VERBOSE=1    print why each invalid rule list is invalid
// A failure prints the seed of the rule list; replay it with
//   ARBITER_IAM_DIFF_BASE_SEED=<seed> ARBITER_IAM_DIFF_RULE_LISTS=1

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/compiler/compiler.h"
#include "src/internal/diagnostics.h"
#include "src/iam/iam_mappings.h"
#include "tests/iam/iam_test_state.h"
#include "tests/iam/naive_iam.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IamTestPrincipal;
using ::arbiter::testing::IamTestStateWithOtherOrg;
using ::arbiter::testing::kIamOtherOrgPrincipals;
using ::arbiter::testing::kIamTestPrincipals;
using ::arbiter::testing::NaiveIam;
using ::arbiter::testing::NaiveLimits;
using ::arbiter::testing::NaivePrincipal;
using ::arbiter::testing::NaiveResolveUser;
using ::arbiter::testing::NaiveUser;
using ::arbiter::testing::NaiveWorkload;

uint64_t EnvUint(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t out;
  if (value == nullptr || !absl::SimpleAtoi(value, &out)) return fallback;
  return out;
}

// Limits small enough that random input crosses them now and then.
constexpr NaiveLimits kLimits = {/*max_selector_length=*/150,
                                 /*max_regex_program_size=*/120,
                                 /*max_regex_memory=*/1 << 20,
                                 /*max_identity_length=*/40};

EngineOptions Options() {
  EngineOptions options;
  options.max_selector_length = kLimits.max_selector_length;
  options.max_regex_program_size = kLimits.max_regex_program_size;
  options.max_regex_memory = kLimits.max_regex_memory;
  options.max_name_length = kLimits.max_identity_length;
  options.max_errors = 1000;
  return options;
}

struct CloudInfo {
  const char* id;
  const char* default_project;
  std::vector<const char*> projects;  // names
  std::vector<const char*> project_ids;
  const char* default_identity;
};

const CloudInfo kClouds[] = {
    {"cld_a",
     "default",
     {"default", "web", "ml-prod", "ML-Prod"},
     {"prj_a_default", "prj_a_web", "prj_a_ml", "prj_a_upper"},
     "cld_a-cluster_node_role"},
    {"cld_b",
     "sandbox",
     {"sandbox", "web", "ml-prod"},
     {"prj_b_default", "prj_b_web", "prj_b_ml"},
     "cld_b-cluster_node_role"},
};

// Principals added to the test state for the large rule lists: x0@acme.com
// .. x74@acme.com are members of acme, x75.. x149 are no principals.
constexpr int kLargePrincipals = 75;

// Every principal of the differential state, for the naive model.
std::vector<NaivePrincipal> Directory() {
  std::vector<NaivePrincipal> out;
  for (const IamTestPrincipal& p : kIamTestPrincipals) {
    out.push_back({p.id, p.email, p.org, p.state});
  }
  for (const IamTestPrincipal& p : kIamOtherOrgPrincipals) {
    out.push_back({p.id, p.email, p.org, p.state});
  }
  for (int i = 0; i < kLargePrincipals; ++i) {
    out.push_back({absl::StrCat("usr_x", i), absl::StrCat("x", i, "@acme.com"),
                   "org_acme", "active"});
  }
  return out;
}

class Generator {
 public:
  // `large`: long rule lists with many distinct patterns and values, so that
  // pattern bitsets span several words and index lists grow long.
  Generator(uint64_t seed, bool large) : rng_(seed), large_(large) {
    dirty_ = !large && Chance(35);
  }

  // A dirty rule list also gets malformed selectors and identities.
  bool dirty() const { return dirty_; }

  int Uniform(int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng_);
  }
  bool Chance(int percent) { return Uniform(100) < percent; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Uniform(static_cast<int>(N))];
  }

  std::string Space() {
    switch (Uniform(8)) {
      case 0:
        return " ";
      case 1:
        return "  ";
      case 2:
        return "\t";
      default:
        return "";
    }
  }

  std::string RandomCase(absl::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (Chance(30)) c = absl::ascii_toupper(static_cast<unsigned char>(c));
    }
    return out;
  }

  std::string Value(int key) {
    if (large_ && key > 0 && Chance(50)) {
      return key == 1 ? absl::StrCat("p", Uniform(150))
                      : absl::StrCat("x", Uniform(150), "@acme.com");
    }
    static const char* const kTypes[] = {"job", "service", "workspace"};
    static const char* const kBadTypes[] = {"cluster", "Job", "jobs"};
    static const char* const kProjects[] = {"default",  "web",     "ml-prod",
                                            "ML-Prod",  "sandbox", "ml",
                                            "data.eng", "x_y+z"};
    static const char* const kUsers[] = {"alice@acme.com",
                                         "bob@acme.com",
                                         "ci@org-acme.serviceaccount.com",
                                         "robert@acme.com",
                                         "carol+test@acme.com",
                                         "dave@other.org",
                                         "usr_alice"};
    static const char* const kBad[] = {"a/b", "my project", "a:b", "*", ""};
    if (dirty_ && Chance(3)) return Pick(kBad);
    switch (key) {
      case 0:
        return dirty_ && Chance(5) ? Pick(kBadTypes) : Pick(kTypes);
      case 1:
        return Pick(kProjects);
      default:
        return RandomCase(Pick(kUsers));
    }
  }

  std::string Pattern(int key) {
    if (large_ && Chance(60)) {
      const int i = Uniform(150);
      switch (key) {
        case 0:
          return Chance(50) ? "job|workspace" : "s.*";
        case 1:
          return absl::StrCat("(web|p", i, ")");
        default:
          return absl::StrCat("(x", i, "|bob)@[a-z]+\\.com");
      }
    }
    static const char* const kTypePatterns[] = {
        "job|service", "j.*", "work(space)?", "[js].*", "(?:service)",
        "JOB",         "(",   "c.*"};
    static const char* const kProjectPatterns[] = {"web",
                                                   "w.b",
                                                   "ml-.*",
                                                   "(?i)ml-prod",
                                                   "[a-z]+",
                                                   "[],a-z-]+",
                                                   "default|sandbox",
                                                   "\\Qml-prod\\E",
                                                   "m{1,2}l-prod",
                                                   "[[:alpha:]-]+",
                                                   "(",
                                                   "[",
                                                   "x{2,1}",
                                                   "\\pL+",
                                                   "(web|ml-prod)",
                                                   "sand\\ ",
                                                   "[^,]{2,5}",
                                                   "a{,2}|web"};
    static const char* const kUserPatterns[] = {
        ".*@acme\\.com",
        "[a-c].*",
        "(alice|bob)@.*",
        "ci@org-acme\\.serviceaccount\\.com",
        ".*\\+.*",
        "BOB@ACME\\.COM",
        "[^@]{3,5}@.*",
        "a{1,2}lice@acme\\.com",
        "\\Qbob@acme.com\\E",
        "(",
        ".*",
        "(a|b|c|d|e|f|g)*x{1,20}@[a-z]{2,9}\\.com",  // over 120 sometimes
        "[[:alpha:]]+@(acme|other)\\.(com|org)",
        "\\Qcarol+test@acme.com",  // unterminated \Q: runs to the end
    };
    // Retry invalid ones in clean lists (the pools mix both).
    for (int attempt = 0;; ++attempt) {
      std::string p = key == 0   ? Pick(kTypePatterns)
                      : key == 1 ? Pick(kProjectPatterns)
                                 : Pick(kUserPatterns);
      if (dirty_ || attempt > 20 || !IsBrokenPattern(p)) return p;
    }
  }

  static bool IsBrokenPattern(absl::string_view p) {
    return p == "(" || p == "[" || p == "x{2,1}" || p == "\\pL+" ||
           p == "a{,2}|web" || absl::StartsWith(p, "(a|b|c|d|e|f|g)*");
  }

  std::string Requirement() {
    static const char* const kKeys[] = {"workload-type", "project", "user"};
    const int key = Uniform(3);
    std::string k = dirty_ && Chance(3) ? "team" : kKeys[key];
    const std::string s = Space();
    switch (Uniform(9)) {
      case 0:
        return absl::StrCat(s, k, Space(), "=", Space(), Value(key), Space());
      case 1:
        return absl::StrCat(s, k, Space(), "==", Space(), Value(key));
      case 2:
        return absl::StrCat(s, k, Space(), "!=", Space(), Value(key));
      case 3:
      case 4: {
        std::vector<std::string> values;
        const int n = 1 + Uniform(3);
        for (int i = 0; i < n; ++i) {
          values.push_back(absl::StrCat(Space(), Value(key), Space()));
        }
        return absl::StrCat(s, k, " ", Space(), Chance(50) ? "in" : "notin",
                            Space(), "(", absl::StrJoin(values, ","), ")",
                            Space());
      }
      case 5:
        return absl::StrCat(s, k, Space());
      case 6:
        return absl::StrCat(s, "!", Space(), k, Space());
      default:
        return absl::StrCat(s, k, Space(), "~=", Space(), Pattern(key),
                            Space());
    }
  }

  std::string Selector() {
    if (Chance(8)) return Chance(50) ? "" : Space();
    const int n = 1 + Uniform(3);
    std::string out;
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      out += Requirement();
    }
    if (dirty_ && Chance(10)) {  // corrupt one byte
      static const char kNoise[] = ",()!=~@ :;\t\n\\[{";
      const size_t at = Uniform(static_cast<int>(out.size() + 1));
      out.insert(out.begin() + at, kNoise[Uniform(sizeof(kNoise) - 1)]);
    }
    if (dirty_ && Chance(3)) out += ",";
    return out;
  }

  std::string Identity() {
    static const char* const kGood[] = {
        "etl-role",  "ml-role", "ci-role", "sa@proj.iam.gserviceaccount.com",
        "ns/k8s-sa", "role_1"};
    static const char* const kBad[] = {
        "", "arn:aws:iam::1:role/x", "ARN:aws:iam::1:instance-profile/p", "a b",
        "this-identity-is-far-too-long-for-the-limit-of-40"};
    return dirty_ && Chance(8) ? Pick(kBad) : Pick(kGood);
  }

  v1::IamMapping::DefaultBehavior Behavior() {
    static const v1::IamMapping::DefaultBehavior kBehaviors[] = {
        v1::IamMapping::DEFAULT_BEHAVIOR_UNSPECIFIED,
        v1::IamMapping::CLOUD_DEFAULT, v1::IamMapping::FAIL};
    return Pick(kBehaviors);
  }

 private:
  std::mt19937_64 rng_;
  bool large_;
  bool dirty_ = false;
};

// Collects "clouds[c].iam_mapping.rules[i]" -> (c, i) from diagnostics.
std::set<std::pair<int, int>> BadRules(
    const std::vector<absl::Status>& errors) {
  std::set<std::pair<int, int>> out;
  for (const absl::Status& e : errors) {
    int c, i;
    const std::string m(e.message());
    if (std::sscanf(m.c_str(), "clouds[%d].iam_mapping.rules[%d]", &c, &i) ==
        2) {
      out.emplace(c, i);
    } else {
      out.emplace(-1, -1);  // any other problem
    }
  }
  return out;
}

// Runs `lists` random rule lists of up to `max_rules` rules per cloud, with
// `per_list` workloads each, seeds base, base + 1, ...
void RunDifferential(uint64_t lists, uint64_t per_list, uint64_t base,
                     int max_rules, bool large) {
  const EngineOptions options = Options();
  const bool verbose = EnvUint("ARBITER_IAM_DIFF_VERBOSE", 0) != 0;

  v1::PolicySet state = IamTestStateWithOtherOrg();
  for (int i = 0; i < 150; ++i) {
    v1::Project* p = state.add_projects();
    p->set_id(absl::StrCat("prj_p", i));
    p->set_cloud_id("cld_a");
    p->set_name(absl::StrCat("p", i));
  }
  for (int i = 0; i < kLargePrincipals; ++i) {
    v1::Principal* p = state.add_principals();
    p->set_id(absl::StrCat("usr_x", i));
    p->set_org_id("org_acme");
    p->set_kind(v1::PRINCIPAL_KIND_USER);
    p->set_email(absl::StrCat("x", i, "@acme.com"));
  }
  const std::vector<NaivePrincipal> directory = Directory();
  std::vector<std::string> principal_ids;
  for (const NaivePrincipal& p : directory) principal_ids.push_back(p.id);
  // The same state compiled with iam_match_unknown_users off and on.
  std::unique_ptr<internal::Snapshot> compiled_by_option[2];
  for (int on = 0; on < 2; ++on) {
    EngineOptions o = options;
    o.iam_match_unknown_users = on != 0;
    internal::Diagnostics base_diag(10);
    compiled_by_option[on] = internal::Compile(state, o, base_diag);
    ASSERT_NE(compiled_by_option[on], nullptr) << base_diag.ToStatus();
  }

  NaiveIam naive(kLimits);
  uint64_t valid_lists = 0, mapped = 0, defaults = 0, fails = 0, explained = 0;
  uint64_t user_fails = 0;
  int failures = 0;
  for (uint64_t n = 0; n < lists && failures < 5; ++n) {
    const uint64_t seed = base + n;
    const std::string replay =
        absl::StrCat("replay: ARBITER_IAM_DIFF_BASE_SEED=", seed,
                     " ARBITER_IAM_DIFF_RULE_LISTS=1");
    Generator gen(seed, large);
    const bool match_unknown = gen.Chance(60);
    const internal::Snapshot* compiled =
        compiled_by_option[match_unknown ? 1 : 0].get();
    std::set<std::pair<int, int>> naive_bad;
    for (int c = 0; c < 2; ++c) {
      v1::IamMapping* m = state.mutable_clouds(c)->mutable_iam_mapping();
      m->clear_rules();
      m->set_default_behavior(gen.Behavior());
      const int num_rules = gen.Uniform(max_rules + 1);
      for (int i = 0; i < num_rules; ++i) {
        v1::IamMappingRule* r = m->add_rules();
        r->set_selector(gen.Selector());
        r->set_identity(gen.Identity());
        if (!naive.Parse(r->selector()).has_value() ||
            !naive.ValidIdentity(r->identity())) {
          naive_bad.emplace(c, i);
        }
      }
    }

    internal::Diagnostics diag(options.max_errors);
    std::shared_ptr<const internal::IamMappings> iam =
        internal::IamMappings::Compile(state, *compiled, diag);
    const std::set<std::pair<int, int>> engine_bad = BadRules(diag.errors());
    if (engine_bad != naive_bad || (iam == nullptr) != !naive_bad.empty()) {
      ADD_FAILURE() << "validity differs; " << replay << "\n"
                    << state.DebugString() << "\nengine: " << diag.ToStatus();
      ++failures;
      continue;
    }
    if (iam == nullptr) {
      if (verbose) {
        std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed),
                    diag.ToStatus().ToString().c_str());
        for (const auto& [c, i] : engine_bad) {
          if (c < 0) continue;
          std::printf(
              "  clouds[%d].rules[%d]: %s\n", c, i,
              state.clouds(c).iam_mapping().rules(i).selector().c_str());
        }
      }
      continue;
    }
    ++valid_lists;

    // Now and then, the whole Engine must agree with the IAM step alone.
    std::unique_ptr<const Engine> engine;
    if (n % 997 == 0) {
      EngineOptions o = options;
      o.iam_match_unknown_users = match_unknown;
      absl::StatusOr<std::unique_ptr<const Engine>> created =
          Engine::Create(state, o);
      ASSERT_TRUE(created.ok()) << created.status() << "; " << replay;
      engine = std::move(created).value();
    }

    for (uint64_t q = 0; q < per_list; ++q) {
      const int c = gen.Uniform(2);
      const CloudInfo& cloud = kClouds[c];
      static const v1::WorkloadType kTypes[] = {
          v1::WORKLOAD_TYPE_JOB, v1::WORKLOAD_TYPE_SERVICE,
          v1::WORKLOAD_TYPE_WORKSPACE, v1::WORKLOAD_TYPE_CLUSTER};
      WorkloadAttributes w;
      w.cloud = cloud.id;
      w.type = gen.Pick(kTypes);
      NaiveWorkload nw;
      nw.type = std::string(WorkloadTypeLabel(w.type));
      const int p = gen.Uniform(static_cast<int>(cloud.projects.size()) + 1);
      if (large && gen.Chance(50)) {
        // Projects p0..p149 exist in cloud alpha only (added below).
        if (c == 1) continue;
        nw.project = absl::StrCat("p", gen.Uniform(150));
        w.project = nw.project;
      } else if (p == static_cast<int>(cloud.projects.size())) {
        nw.project = cloud.default_project;  // w.project stays empty
      } else {
        w.project = gen.Chance(20) ? cloud.project_ids[p] : cloud.projects[p];
        nw.project = cloud.projects[p];
      }
      // Mostly emails that reach the rules: members' and, when the option is
      // on, emails no principal holds. Sometimes principal ids, and users
      // who fail first: deleted, invited, of the other organization,
      // malformed.
      static const char* const kEmails[] = {
          "alice@acme.com", "bob@acme.com",    "ci@org-acme.serviceaccount.com",
          "carol@acme.com", "robert@acme.com", "carol+test@acme.com",
          "dave@other.org", "eve@evil.com",    "xxxx@acme.com"};
      static const char* const kFailing[] = {"judy@acme.com", "ivan@acme.com",
                                             "zed@other.com", "bob@acme.com ",
                                             "usr_nobody",    "@acme.com"};
      std::string user;
      if (large && gen.Chance(50)) {
        user = absl::StrCat("X", gen.Uniform(150), "@acme.com");
      } else if (gen.Chance(15)) {
        user = principal_ids[gen.Uniform(
            static_cast<int>(large ? principal_ids.size()
                                   : principal_ids.size() - kLargePrincipals))];
      } else if (gen.Chance(10)) {
        user = gen.RandomCase(gen.Pick(kFailing));
      } else {
        user = gen.RandomCase(gen.Pick(kEmails));
      }
      w.user = user;
      const NaiveUser naive_user =
          NaiveResolveUser(directory, "org_acme", user, match_unknown,
                           kLimits.max_identity_length);
      nw.user = naive_user.email;

      // The naive answer.
      const v1::IamMapping& m = state.clouds(c).iam_mapping();
      int naive_rule = -1;
      for (int i = 0; naive_user.ok && i < m.rules_size() && naive_rule < 0;
           ++i) {
        if (naive.FirstFailing(m.rules(i).selector(), nw) == -1) naive_rule = i;
      }
      IamDecision want;
      want.revision = 0;
      if (!naive_user.ok) {
        want.outcome = IamOutcome::kFail;
        want.reason = IamReason::kInternalError;
        for (int r = 0; r <= static_cast<int>(IamReason::kInternalError); ++r) {
          if (IamReasonName(static_cast<IamReason>(r)) == naive_user.failure) {
            want.reason = static_cast<IamReason>(r);
          }
        }
      } else if (naive_rule >= 0) {
        want.outcome = IamOutcome::kMapped;
        want.reason = IamReason::kRuleMatched;
        want.identity = m.rules(naive_rule).identity();
        want.rule_index = naive_rule;
      } else if (m.default_behavior() == v1::IamMapping::FAIL) {
        want.outcome = IamOutcome::kFail;
        want.reason = IamReason::kNoRuleMatched;
      } else {
        want.outcome = IamOutcome::kCloudDefault;
        want.reason = IamReason::kNoRuleMatched;
        want.identity = cloud.default_identity;
      }

      const IamDecision got = iam->Resolve(*compiled, w, 0);
      if (got != want) {
        ADD_FAILURE() << "decision differs for cloud " << cloud.id << ", "
                      << nw.type << " in " << nw.project << " by " << user
                      << ": engine " << got << ", naive " << want << "; "
                      << replay << "\n"
                      << m.DebugString();
        ++failures;
        break;
      }
      switch (got.outcome) {
        case IamOutcome::kMapped:
          ++mapped;
          break;
        case IamOutcome::kCloudDefault:
          ++defaults;
          break;
        case IamOutcome::kFail:
          ++fails;
          if (!naive_user.ok) ++user_fails;
          break;
      }
      if (engine != nullptr) {
        IamDecision whole = engine->ResolveIam(w);
        whole.revision = 0;
        EXPECT_EQ(whole, got) << replay;
      }

      // Explanations: the first failing requirement of every earlier rule.
      if (q % 3 == 0) {
        ++explained;
        const IamExplanation e = iam->Explain(*compiled, w, 0);
        const size_t expected_rules = !naive_user.ok    ? 0
                                      : naive_rule >= 0 ? naive_rule + 1
                                                        : m.rules_size();
        bool ok = e.decision == got && e.rules.size() == expected_rules;
        for (size_t i = 0; ok && i < e.rules.size(); ++i) {
          std::string text;
          const int failing =
              naive.FirstFailing(m.rules(i).selector(), nw, &text);
          ok = e.rules[i].matched == (failing == -1) &&
               (failing == -1 ? e.rules[i].failed_requirement.empty()
                              : absl::StartsWith(e.rules[i].failed_requirement,
                                                 text + ": "));
        }
        if (!ok) {
          ADD_FAILURE() << "explanation differs; " << replay << "\n"
                        << e.ToString() << "\n"
                        << m.DebugString();
          ++failures;
          break;
        }
      }
    }
  }
  // The generator must exercise every outcome, not just one.
  EXPECT_GT(valid_lists, lists / 10);
  if (large) {
    EXPECT_GT(valid_lists, lists / 2);
  }
  EXPECT_GT(mapped, 0u);
  EXPECT_GT(defaults, 0u);
  EXPECT_GT(fails, 0u);
  EXPECT_GT(user_fails, 0u);
  EXPECT_GT(explained, 0u);
  std::printf(
      "%llu rule lists (%llu valid), %llu MAPPED, %llu CLOUD_DEFAULT, %llu "
      "FAIL (%llu of them for the user), %llu explanations\n",
      static_cast<unsigned long long>(lists),
      static_cast<unsigned long long>(valid_lists),
      static_cast<unsigned long long>(mapped),
      static_cast<unsigned long long>(defaults),
      static_cast<unsigned long long>(fails),
      static_cast<unsigned long long>(user_fails),
      static_cast<unsigned long long>(explained));
}

TEST(IamDifferentialTest, IndexedEngineAgreesWithNaiveInterpreter) {
  RunDifferential(EnvUint("ARBITER_IAM_DIFF_RULE_LISTS", 100000),
                  EnvUint("ARBITER_IAM_DIFF_WORKLOADS", 10),
                  EnvUint("ARBITER_IAM_DIFF_BASE_SEED", 1), /*max_rules=*/8,
                  /*large=*/false);
}

TEST(IamDifferentialTest, LargeRuleListsWithManyPatterns) {
  RunDifferential(EnvUint("ARBITER_IAM_DIFF_LARGE_RULE_LISTS", 300),
                  EnvUint("ARBITER_IAM_DIFF_LARGE_WORKLOADS", 50),
                  EnvUint("ARBITER_IAM_DIFF_BASE_SEED", 1), /*max_rules=*/400,
                  /*large=*/true);
}

}  // namespace
}  // namespace arbiter
