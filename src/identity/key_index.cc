// KeyIndex: the compiled form of a state's API keys, principals and SSO
// settings, and the authentication decisions on it.

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "src/identity/credential.h"
#include "src/identity/rules_internal.h"
#include "src/internal/string_table.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {

inline constexpr uint32_t kNoIndex = 0xFFFFFFFFu;

// One cache line holds what a 16-byte salt's authentication reads: the
// stored hash, the flags, the principal, the expiry and the salt.
struct alignas(64) KeyRec {
  uint8_t hash[kHashBytes];
  uint32_t principal;  // index into principals, or kNoIndex
  uint8_t salt_size;
  uint8_t kind;  // v1::ApiKeyKind
  bool revoked;
  int64_t expires_ns;  // effective expiry (kNanosMax: never)
  uint8_t salt[kMaxSaltBytes];
};

struct KeyPrincipalRec {
  uint32_t org;   // index into orgs, or kNoIndex
  uint8_t kind;   // v1::PrincipalKind
  uint8_t state;  // v1::PrincipalState, UNSPECIFIED read as ACTIVE
  bool sso_required;
};

struct KeyOrgRec {
  std::string id;
  uint8_t sso_mode;   // v1::SsoMode
  bool sso_enforced;  // logins of verified-domain users must use SSO
};

struct KeyIndexRep {
  uint64_t revision = 0;
  IdentityOptions options;
  std::vector<KeyRec> keys;
  // Key and principal ids, contiguous; key_by_id views key_ids.
  StringTable key_ids;
  absl::flat_hash_map<absl::string_view, uint32_t> key_by_id;
  std::vector<KeyPrincipalRec> principals;
  StringTable principal_ids;
  std::vector<KeyOrgRec> orgs;
  absl::flat_hash_map<std::string, uint32_t> org_by_id;
  // Verified domain (lower case) -> org index.
  absl::flat_hash_map<std::string, uint32_t> verified_domains;
  // 4 bytes of org index, then the lower-cased email -> principal index:
  // a non-deleted principal when there is one, else the last deleted one.
  absl::flat_hash_map<std::string, uint32_t> login;
  size_t string_bytes = 0;
};

namespace {

// Lower-cases `in` into `buffer` (`capacity` bytes). False if too long.
bool LowerInto(absl::string_view in, char* buffer, size_t capacity,
               absl::string_view* out) {
  if (in.size() > capacity) return false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  *out = absl::string_view(buffer, in.size());
  return true;
}

std::string LoginKey(uint32_t org, absl::string_view lower_email) {
  std::string key(4, '\0');
  std::memcpy(&key[0], &org, 4);
  key.append(lower_email.data(), lower_email.size());
  return key;
}

constexpr size_t kMaxLoginKey = 4 + kMaxEmailBytes;

}  // namespace
}  // namespace internal

using internal::KeyIndexRep;
using internal::kNoIndex;

absl::StatusOr<std::unique_ptr<const KeyIndex>> KeyIndex::Create(
    const v1::PolicySet& state, const IdentityOptions& options) {
  using internal::QuoteValue;
  auto rep = std::make_unique<KeyIndexRep>();
  rep->revision = state.revision();
  rep->options = options;
  rep->options.profile = nullptr;  // not used here; do not keep a pointer
  rep->options.new_id = nullptr;

  // Organizations.
  rep->orgs.reserve(state.organizations_size());
  for (const v1::Organization& o : state.organizations()) {
    if (rep->org_by_id.contains(o.id())) continue;  // Engine reports it
    rep->org_by_id.emplace(o.id(), rep->orgs.size());
    rep->orgs.push_back({o.id(), v1::SSO_MODE_UNSPECIFIED, false});
    rep->string_bytes += 2 * o.id().size();
  }

  // SSO settings.
  std::vector<int> settings_of(rep->orgs.size(), -1);
  for (int i = 0; i < state.identity_settings_size(); ++i) {
    const v1::IdentitySettings& s = state.identity_settings(i);
    const std::string path = absl::StrCat("identity_settings[", i, "]");
    auto org = rep->org_by_id.find(s.org_id());
    if (org == rep->org_by_id.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".org_id: unknown organization ", QuoteValue(s.org_id())));
    }
    if (settings_of[org->second] >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".org_id: second settings for organization ",
                       QuoteValue(s.org_id()), " (also identity_settings[",
                       settings_of[org->second], "])"));
    }
    settings_of[org->second] = i;
    if (!v1::SsoMode_IsValid(s.sso_mode())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".sso_mode: unknown SSO mode ", s.sso_mode()));
    }
    internal::KeyOrgRec& rec = rep->orgs[org->second];
    rec.sso_mode = static_cast<uint8_t>(s.sso_mode());
    rec.sso_enforced = s.sso_mode() == v1::SSO_MODE_REQUIRED ||
                       (s.sso_mode() == v1::SSO_MODE_OPTIONAL &&
                        options.enforce_sso_in_optional_mode);
    std::vector<std::string> seen;
    for (int j = 0; j < s.domains_size(); ++j) {
      const std::string domain = internal::Lower(s.domains(j).domain());
      const std::string dpath = absl::StrCat(path, ".domains[", j, "].domain");
      const std::string problem = internal::CheckDomain(domain);
      if (!problem.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(dpath, ": ", problem));
      }
      if (std::find(seen.begin(), seen.end(), domain) != seen.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(dpath, ": duplicate domain ", QuoteValue(domain)));
      }
      seen.push_back(domain);
      if (!s.domains(j).verified()) continue;
      auto [it, inserted] = rep->verified_domains.emplace(domain, org->second);
      if (!inserted) {
        return absl::InvalidArgumentError(
            absl::StrCat(dpath, ": domain ", QuoteValue(domain),
                         " is verified by organization ",
                         QuoteValue(rep->orgs[it->second].id), " too"));
      }
      rep->string_bytes += domain.size();
    }
  }

  // Principals, in state order: principal_index is the state's index.
  rep->principals.reserve(state.principals_size());
  rep->principal_ids.Reserve(state.principals_size(), 0);
  // Views into `state`, which outlives this function.
  absl::flat_hash_map<absl::string_view, uint32_t> principal_by_id;
  principal_by_id.reserve(state.principals_size());
  rep->login.reserve(state.principals_size());
  for (int i = 0; i < state.principals_size(); ++i) {
    const v1::Principal& p = state.principals(i);
    internal::KeyPrincipalRec rec{};
    auto org = rep->org_by_id.find(p.org_id());
    rec.org = org == rep->org_by_id.end() ? kNoIndex : org->second;
    rec.kind = static_cast<uint8_t>(p.kind());
    rec.state =
        static_cast<uint8_t>(p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED
                                 ? v1::PRINCIPAL_STATE_ACTIVE
                                 : p.state());
    const std::string email = internal::Lower(p.email());
    if (rec.org != kNoIndex && p.kind() == v1::PRINCIPAL_KIND_USER &&
        rep->orgs[rec.org].sso_enforced) {
      auto d = rep->verified_domains.find(internal::EmailDomain(email));
      rec.sso_required =
          d != rep->verified_domains.end() && d->second == rec.org;
    }
    rep->principals.push_back(rec);
    rep->principal_ids.Add(p.id());
    principal_by_id.emplace(p.id(), i);  // first wins; Engine reports dups
    rep->string_bytes += email.size() + 4;
    if (rec.org != kNoIndex && !email.empty() &&
        email.size() <= internal::kMaxEmailBytes) {
      auto [it, inserted] = rep->login.emplace(
          internal::LoginKey(rec.org, email), static_cast<uint32_t>(i));
      // A live principal wins over deleted ones (Engine::Create refuses two
      // live ones); among deleted ones, the last.
      if (!inserted &&
          rep->principals[it->second].state == v1::PRINCIPAL_STATE_DELETED) {
        it->second = i;
      }
    }
  }

  // Keys.
  rep->keys.reserve(state.api_keys_size());
  rep->key_ids.Reserve(state.api_keys_size(), 0);
  absl::flat_hash_map<absl::string_view, int> seen_ids;
  seen_ids.reserve(state.api_keys_size());
  for (int i = 0; i < state.api_keys_size(); ++i) {
    const v1::ApiKey& k = state.api_keys(i);
    const std::string path = absl::StrCat("api_keys[", i, "]");
    if (!internal::IsValidKeyId(k.id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".id: ", QuoteValue(k.id()),
                       " is not 1..64 bytes of [A-Za-z0-9_-]"));
    }
    auto [it, inserted] = seen_ids.emplace(k.id(), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".id: duplicate key id ", QuoteValue(k.id()),
                       " (also api_keys[", it->second, "])"));
    }
    if (k.principal_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".principal_id: missing"));
    }
    if (k.kind() == v1::API_KEY_KIND_UNSPECIFIED ||
        !v1::ApiKeyKind_IsValid(k.kind())) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ".kind: missing or unknown key kind (SERVICE_ACCOUNT, USER "
          "or CLI_LOGIN)"));
    }
    if (k.salt().size() < internal::kMinSaltBytes ||
        k.salt().size() > internal::kMaxSaltBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".salt: ", k.salt().size(),
                       " bytes; a salt is 16 to 64 bytes"));
    }
    if (k.secret_hash().size() != internal::kHashBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".secret_hash: ", k.secret_hash().size(),
                       " bytes; a SHA-256 is 32 bytes"));
    }
    internal::KeyRec rec{};
    std::memcpy(rec.salt, k.salt().data(), k.salt().size());
    rec.salt_size = static_cast<uint8_t>(k.salt().size());
    std::memcpy(rec.hash, k.secret_hash().data(), internal::kHashBytes);
    rec.kind = static_cast<uint8_t>(k.kind());
    rec.revoked = internal::KeyRevoked(k);
    auto p = principal_by_id.find(k.principal_id());
    rec.principal = p == principal_by_id.end() ? kNoIndex : p->second;
    if (!k.org_id().empty() && rec.principal != kNoIndex &&
        k.org_id() != state.principals(rec.principal).org_id()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".org_id: ", QuoteValue(k.org_id()), " but principal ",
          QuoteValue(k.principal_id()), " belongs to organization ",
          QuoteValue(state.principals(rec.principal).org_id())));
    }
    const absl::Time expiry = internal::KeyExpiry(k, options);
    rec.expires_ns = expiry == absl::InfiniteFuture()
                         ? internal::kNanosMax
                         : std::min(internal::ToUnixNanosSaturated(expiry),
                                    internal::kNanosMax - 1);
    rep->keys.push_back(rec);
    rep->key_ids.Add(k.id());
  }
  // The table no longer moves: index its views.
  rep->key_by_id.reserve(rep->keys.size());
  for (uint32_t i = 0; i < rep->keys.size(); ++i) {
    rep->key_by_id.emplace(rep->key_ids.Get(i), i);
  }
  return std::unique_ptr<const KeyIndex>(new KeyIndex(std::move(rep)));
}

KeyIndex::KeyIndex(std::unique_ptr<const KeyIndexRep> rep)
    : rep_(std::move(rep)) {}
KeyIndex::~KeyIndex() = default;

size_t KeyIndex::num_keys() const { return rep_->keys.size(); }
uint64_t KeyIndex::revision() const { return rep_->revision; }
const IdentityOptions& KeyIndex::options() const { return rep_->options; }

size_t KeyIndex::MemoryUsage() const {
  const KeyIndexRep& r = *rep_;
  auto map_bytes = [](const auto& m) {
    return m.capacity() *
           (sizeof(typename std::decay_t<decltype(m)>::value_type) + 1);
  };
  return sizeof(r) + r.keys.capacity() * sizeof(internal::KeyRec) +
         r.key_ids.MemoryUsage() +
         r.principals.capacity() * sizeof(internal::KeyPrincipalRec) +
         r.principal_ids.MemoryUsage() +
         r.orgs.capacity() * sizeof(internal::KeyOrgRec) + map_bytes(r.key_by_id) +
         map_bytes(r.org_by_id) + map_bytes(r.verified_domains) +
         map_bytes(r.login) + r.string_bytes;
}

AuthResult KeyIndex::Authenticate(absl::string_view credential, absl::Time now,
                                  const AuthContext& context) const noexcept {
  const KeyIndexRep& r = *rep_;
  AuthResult out;
  out.revision = r.revision;

  absl::string_view key_id;
  uint8_t secret[internal::kSecretBytes];
  if (!internal::ParseCredential(credential, &key_id, secret)) {
    out.reason = AuthReason::kMalformedCredential;
    return out;
  }
  // Key ids are not secret (they name keys in listings and logs), so
  // finding one may take its own time; only the secret is compared in
  // constant time, and nothing about the key is told before it matches.
  auto it = r.key_by_id.find(key_id);
  if (it == r.key_by_id.end()) {
    internal::Wipe(secret, sizeof(secret));
    out.reason = AuthReason::kUnknownKey;
    return out;
  }
  uint8_t hash[internal::kHashBytes];
  const uint32_t key_index = it->second;
  const internal::KeyRec& key = r.keys[key_index];
  out.key_id = r.key_ids.Get(key_index);
  const bool hashed =
      internal::HashSecret(key.salt, key.salt_size, secret, hash);
  internal::Wipe(secret, sizeof(secret));
  if (!hashed ||
      !internal::ConstantTimeEquals(hash, key.hash, internal::kHashBytes)) {
    out.reason = AuthReason::kWrongSecret;
    return out;
  }
  // The caller holds the secret: from here on the reasons may be told.
  out.key_kind = static_cast<v1::ApiKeyKind>(key.kind);
  if (key.revoked) {
    out.reason = AuthReason::kKeyRevoked;
    return out;
  }
  if (internal::ToUnixNanosSaturated(now) >= key.expires_ns) {
    out.reason = AuthReason::kKeyExpired;
    return out;
  }
  if (key.expires_ns != internal::kNanosMax) {
    out.valid_until = absl::FromUnixNanos(key.expires_ns);
  }
  if (key.principal == kNoIndex) {
    out.reason = AuthReason::kUnknownPrincipal;
    return out;
  }
  const internal::KeyPrincipalRec& p = r.principals[key.principal];
  out.principal_id = r.principal_ids.Get(key.principal);
  out.principal_kind = static_cast<v1::PrincipalKind>(p.kind);
  if (p.org == kNoIndex) {
    out.reason = AuthReason::kUnknownPrincipal;
    return out;
  }
  out.org_id = r.orgs[p.org].id;
  if (!context.org.empty()) {
    auto org = r.org_by_id.find(context.org);
    if (org == r.org_by_id.end()) {
      out.reason = AuthReason::kUnknownOrg;
      return out;
    }
    if (org->second != p.org) {
      out.reason = AuthReason::kCrossOrg;
      return out;
    }
  }
  if (p.state == v1::PRINCIPAL_STATE_DELETED) {
    out.reason = AuthReason::kPrincipalDeleted;
    return out;
  }
  if (p.state != v1::PRINCIPAL_STATE_ACTIVE) {
    // INVITED, or anything else: fail closed.
    out.reason = AuthReason::kPrincipalInvited;
    return out;
  }
  const bool is_sa = p.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
  const bool is_user = p.kind == v1::PRINCIPAL_KIND_USER;
  const bool sa_key = key.kind == v1::API_KEY_KIND_SERVICE_ACCOUNT;
  if ((!is_sa && !is_user) || is_sa != sa_key) {
    out.reason = AuthReason::kKeyKindMismatch;
    return out;
  }
  if (is_sa && context.channel == Channel::kConsole) {
    out.reason = AuthReason::kServiceAccountConsole;
    return out;
  }
  if (is_user && p.sso_required) {
    const SsoKeyPolicy policy = r.options.user_keys_under_required_sso;
    const bool refused = policy == SsoKeyPolicy::kNoUserKeys ||
                         (policy == SsoKeyPolicy::kCliLoginKeysOnly &&
                          key.kind != v1::API_KEY_KIND_CLI_LOGIN);
    if (refused) {
      out.reason = AuthReason::kSsoRequired;
      return out;
    }
  }
  out.principal_index = key.principal;
  out.reason = AuthReason::kAuthenticated;
  return out;
}

AuthResult KeyIndex::AuthenticateLogin(absl::string_view org_id,
                                       absl::string_view email,
                                       LoginMethod method) const noexcept {
  const KeyIndexRep& r = *rep_;
  AuthResult out;
  out.revision = r.revision;
  auto org = r.org_by_id.find(org_id);
  if (org == r.org_by_id.end()) {
    out.reason = AuthReason::kUnknownOrg;
    return out;
  }
  const uint32_t org_index = org->second;
  char buffer[internal::kMaxLoginKey];
  std::memcpy(buffer, &org_index, 4);
  absl::string_view lower;
  if (!internal::LowerInto(email, buffer + 4, internal::kMaxEmailBytes,
                           &lower)) {
    out.reason = AuthReason::kUnknownPrincipal;
    return out;
  }
  auto found = r.login.find(absl::string_view(buffer, 4 + lower.size()));
  if (found == r.login.end()) {
    out.reason = AuthReason::kUnknownPrincipal;
    return out;
  }
  const uint32_t index = found->second;
  const internal::KeyPrincipalRec& p = r.principals[index];
  const internal::KeyOrgRec& o = r.orgs[org_index];
  out.principal_id = r.principal_ids.Get(index);
  out.org_id = o.id;
  out.principal_kind = static_cast<v1::PrincipalKind>(p.kind);
  if (p.state == v1::PRINCIPAL_STATE_DELETED) {
    out.reason = AuthReason::kPrincipalDeleted;
    return out;
  }
  if (p.state != v1::PRINCIPAL_STATE_ACTIVE) {
    out.reason = AuthReason::kPrincipalInvited;
    return out;
  }
  if (p.kind != v1::PRINCIPAL_KIND_USER) {
    // Service accounts (and anything unknown) never log in.
    out.reason = AuthReason::kServiceAccountConsole;
    return out;
  }
  if (method == LoginMethod::kSso) {
    if (o.sso_mode == v1::SSO_MODE_UNSPECIFIED) {
      out.reason = AuthReason::kSsoNotConfigured;
      return out;
    }
    auto d = r.verified_domains.find(internal::EmailDomain(lower));
    if (d == r.verified_domains.end() || d->second != org_index) {
      out.reason = AuthReason::kSsoDomainNotVerified;
      return out;
    }
  } else if (p.sso_required) {
    out.reason = AuthReason::kSsoRequired;
    return out;
  }
  out.principal_index = index;
  out.reason = AuthReason::kAuthenticated;
  return out;
}

bool KeyIndex::SsoRequiredFor(absl::string_view org_id,
                              absl::string_view email) const noexcept {
  const KeyIndexRep& r = *rep_;
  auto org = r.org_by_id.find(org_id);
  if (org == r.org_by_id.end() || !r.orgs[org->second].sso_enforced) {
    return false;
  }
  char buffer[internal::kMaxEmailBytes];
  absl::string_view lower;
  // An email too long to be anyone's cannot be checked: say SSO is required
  // (the stricter answer).
  if (!internal::LowerInto(email, buffer, sizeof(buffer), &lower)) return true;
  auto d = r.verified_domains.find(internal::EmailDomain(lower));
  return d != r.verified_domains.end() && d->second == org->second;
}

}  // namespace arbiter
