// The low-level SHA-256 functions (SHA256_Init/Update/Final) are deprecated
// in OpenSSL 3.0 in favour of EVP, but EVP allocates on every digest (1 to 3
// mallocs in 3.0: the EVP_MD_CTX and the provider's context) and costs 130 to
// 630 ns, against 75 ns and no allocation for the same SHA-NI code reached
// directly (docs/identity.md, "Cost"). Authenticate must not allocate, so
// this file uses them where the library still has them.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "src/identity/credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/identity/rules_internal.h"

namespace arbiter {
namespace internal {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// 1 when 0 <= v <= max, else 0; no branch.
inline uint32_t InRange(int32_t v, int32_t max) {
  return (~static_cast<uint32_t>(v | (max - v))) >> 31;
}

}  // namespace

bool IsValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ParseCredential(absl::string_view credential, absl::string_view* key_id,
                     uint8_t secret[kSecretBytes]) {
  std::memset(secret, 0, kSecretBytes);
  if (credential.size() < kMinCredentialSize ||
      credential.size() > kMaxCredentialSize ||
      credential.substr(0, kCredentialPrefix.size()) != kCredentialPrefix) {
    return false;
  }
  const size_t separator = credential.size() - kSecretHexDigits - 1;
  if (credential[separator] != '_') return false;
  const absl::string_view id = credential.substr(
      kCredentialPrefix.size(), separator - kCredentialPrefix.size());
  if (!IsValidKeyId(id)) return false;
  // The secret's digits: decoded arithmetically, every digit read, so the
  // time taken says nothing about the value.
  const unsigned char* hex =
      reinterpret_cast<const unsigned char*>(credential.data()) + separator + 1;
  uint64_t bad = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // Eight digits at a time (SWAR): a byte is valid when it is in '0'..'9'
  // or 'a'..'f'; its value is (c & 0xF) + 9 * (bit 6 of c).
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  for (size_t i = 0; i < kSecretHexDigits; i += 8) {
    uint64_t x;
    std::memcpy(&x, hex + i, 8);
    const uint64_t ascii = ~x & kHigh;  // high bit set where c < 0x80
    const uint64_t y = x & ~kHigh;
    const uint64_t ge_0 = ((y | kHigh) - kOnes * '0') & kHigh;
    const uint64_t le_9 = ((kOnes * '9' | kHigh) - y) & kHigh;
    const uint64_t ge_a = ((y | kHigh) - kOnes * 'a') & kHigh;
    const uint64_t le_f = ((kOnes * 'f' | kHigh) - y) & kHigh;
    const uint64_t valid = ascii & ((ge_0 & le_9) | (ge_a & le_f));
    bad |= valid ^ kHigh;
    const uint64_t nibbles = (x & (kOnes * 0x0F)) + 9 * ((x >> 6) & kOnes);
    // Bytes (n0, n1, n2, ...) -> (n0 << 4 | n1, n2 << 4 | n3, ...).
    uint64_t v = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF00FF00FF00FFull;
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFull;
    v = (v | (v >> 16)) & 0x00000000FFFFFFFFull;
    const uint32_t out = static_cast<uint32_t>(v);
    std::memcpy(secret + i / 2, &out, 4);
  }
#else
  for (size_t i = 0; i < kSecretBytes; ++i) {
    uint32_t byte = 0;
    for (int half = 0; half < 2; ++half) {
      const int32_t c = hex[2 * i + half];
      const int32_t digit = c - '0';
      const int32_t alpha = c - 'a';
      const uint32_t is_digit = InRange(digit, 9);
      const uint32_t is_alpha = InRange(alpha, 5);
      const uint32_t value =
          ((0u - is_digit) & static_cast<uint32_t>(digit)) |
          ((0u - is_alpha) & static_cast<uint32_t>(alpha + 10));
      bad |= 1u & ~(is_digit | is_alpha);
      byte = (byte << 4) | (value & 0xF);
    }
    secret[i] = static_cast<uint8_t>(byte);
  }
#endif
  if (bad != 0) {
    Wipe(secret, kSecretBytes);
    return false;
  }
  *key_id = id;
  return true;
}

bool HashSecret(const uint8_t* salt, size_t salt_size,
                const uint8_t secret[kSecretBytes], uint8_t out[kHashBytes]) {
  if (salt_size > kMaxSaltBytes) return false;
#ifndef OPENSSL_NO_DEPRECATED_3_0
  SHA256_CTX ctx;
  bool ok = SHA256_Init(&ctx) == 1 &&
            SHA256_Update(&ctx, salt, salt_size) == 1 &&
            SHA256_Update(&ctx, secret, kSecretBytes) == 1 &&
            SHA256_Final(out, &ctx) == 1;
  Wipe(&ctx, sizeof(ctx));
  return ok;
#else
  // An OpenSSL built without the deprecated API: EVP (allocates).
  uint8_t buffer[kMaxSaltBytes + kSecretBytes];
  std::memcpy(buffer, salt, salt_size);
  std::memcpy(buffer + salt_size, secret, kSecretBytes);
  unsigned int size = 0;
  const bool ok = EVP_Digest(buffer, salt_size + kSecretBytes, out, &size,
                             EVP_sha256(), nullptr) == 1 &&
                  size == kHashBytes;
  Wipe(buffer, sizeof(buffer));
  return ok;
#endif
}

bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

void Wipe(void* p, size_t n) { OPENSSL_cleanse(p, n); }

bool RandomBytes(uint8_t* out, size_t n) {
  return RAND_bytes(out, static_cast<int>(n)) == 1;
}

std::string RandomId(absl::string_view prefix) {
  uint8_t bytes[8];
  if (!RandomBytes(bytes, sizeof(bytes))) return "";
  std::string id(prefix);
  id.push_back('_');
  for (uint8_t b : bytes) {
    id.push_back(kHexDigits[b >> 4]);
    id.push_back(kHexDigits[b & 0xF]);
  }
  return id;
}

std::string FormatCredential(absl::string_view key_id,
                             const uint8_t secret[kSecretBytes]) {
  std::string out;
  // Exactly the final size: appending never reallocates, so no copy of the
  // secret is left behind in freed memory.
  out.reserve(kCredentialPrefix.size() + key_id.size() + 1 + kSecretHexDigits);
  out.append(kCredentialPrefix.data(), kCredentialPrefix.size());
  out.append(key_id.data(), key_id.size());
  out.push_back('_');
  for (size_t i = 0; i < kSecretBytes; ++i) {
    out.push_back(kHexDigits[secret[i] >> 4]);
    out.push_back(kHexDigits[secret[i] & 0xF]);
  }
  return out;
}

}  // namespace internal

// ---- Credential ----

Credential::Credential(Credential&& other) noexcept
    : value_(std::move(other.value_)) {
  other.Wipe();
}

Credential& Credential::operator=(Credential&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

Credential::~Credential() { Wipe(); }

void Credential::Wipe() {
  if (!value_.empty()) internal::Wipe(&value_[0], value_.size());
  value_.clear();
}

std::string Credential::DebugString() const {
  absl::string_view key_id;
  uint8_t secret[internal::kSecretBytes];
  std::string out;
  if (internal::ParseCredential(value_, &key_id, secret)) {
    out = absl::StrCat(internal::kCredentialPrefix, key_id, "_<redacted>");
  } else {
    out = "<no credential>";
  }
  internal::Wipe(secret, sizeof(secret));
  return out;
}

absl::StatusOr<MintedKey> MintApiKey(absl::string_view key_id,
                                     absl::string_view principal_id,
                                     v1::ApiKeyKind kind,
                                     absl::string_view name,
                                     absl::Time created_at,
                                     absl::Time expires_at) {
  if (!internal::IsValidKeyId(key_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("key id ", internal::QuoteValue(key_id),
                     ": not 1..64 bytes of [A-Za-z0-9_-]"));
  }
  uint8_t secret[internal::kSecretBytes];
  uint8_t salt[internal::kSaltBytes];
  if (!internal::RandomBytes(secret, sizeof(secret)) ||
      !internal::RandomBytes(salt, sizeof(salt))) {
    internal::Wipe(secret, sizeof(secret));
    return internal::Refuse(IdentityRule::kInternal,
                            absl::StatusCode::kInternal,
                            "the random generator (RAND_bytes) failed");
  }
  uint8_t hash[internal::kHashBytes];
  if (!internal::HashSecret(salt, sizeof(salt), secret, hash)) {
    internal::Wipe(secret, sizeof(secret));
    return internal::Refuse(IdentityRule::kInternal,
                            absl::StatusCode::kInternal, "SHA-256 failed");
  }

  MintedKey out;
  v1::ApiKey& r = out.record;
  r.set_id(std::string(key_id));
  r.set_principal_id(std::string(principal_id));
  r.set_kind(kind);
  r.set_name(std::string(name));
  r.set_salt(reinterpret_cast<const char*>(salt), sizeof(salt));
  r.set_secret_hash(reinterpret_cast<const char*>(hash), sizeof(hash));
  internal::SetTimestamp(created_at, r.mutable_created_at());
  if (expires_at != absl::InfiniteFuture()) {
    internal::SetTimestamp(expires_at, r.mutable_expires_at());
  }
  out.credential = internal::CredentialAccess::Make(
      internal::FormatCredential(key_id, secret));
  internal::Wipe(secret, sizeof(secret));
  return out;
}

bool VerifyApiKeySecret(const v1::ApiKey& record,
                        absl::string_view credential) noexcept {
  absl::string_view key_id;
  uint8_t secret[internal::kSecretBytes];
  if (!internal::ParseCredential(credential, &key_id, secret)) return false;
  bool ok = key_id == record.id() &&
            record.salt().size() >= internal::kMinSaltBytes &&
            record.salt().size() <= internal::kMaxSaltBytes &&
            record.secret_hash().size() == internal::kHashBytes;
  if (ok) {
    uint8_t hash[internal::kHashBytes];
    ok =
        internal::HashSecret(
            reinterpret_cast<const uint8_t*>(record.salt().data()),
            record.salt().size(), secret, hash) &&
        internal::ConstantTimeEquals(
            hash, reinterpret_cast<const uint8_t*>(record.secret_hash().data()),
            internal::kHashBytes);
  }
  internal::Wipe(secret, sizeof(secret));
  return ok;
}

}  // namespace arbiter
