// API key credentials: the printable format, the salted hash, the
// constant-time comparison, random bytes. Private to the library.
//
// Format: "ask_" <key id> "_" <64 lower-case hex digits>. The key id is
// 1..64 bytes of [A-Za-z0-9_-] (it may contain '_': the secret is always the
// last 64 characters, so parsing never guesses); the hex digits encode the 32
// secret bytes. The stored hash is SHA-256(salt || the 32 secret bytes).

#ifndef ARBITER_SRC_IDENTITY_CREDENTIAL_H_
#define ARBITER_SRC_IDENTITY_CREDENTIAL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "arbiter/identity.h"

namespace arbiter {
namespace internal {

inline constexpr absl::string_view kCredentialPrefix = "ask_";
inline constexpr size_t kSecretBytes = 32;
inline constexpr size_t kSecretHexDigits = 2 * kSecretBytes;
inline constexpr size_t kHashBytes = 32;
inline constexpr size_t kSaltBytes = 16;  // minted salts
inline constexpr size_t kMinSaltBytes = 16;
inline constexpr size_t kMaxSaltBytes = 64;
inline constexpr size_t kMaxKeyIdBytes = 64;
inline constexpr size_t kMinCredentialSize =
    kCredentialPrefix.size() + 1 + 1 + kSecretHexDigits;
inline constexpr size_t kMaxCredentialSize =
    kCredentialPrefix.size() + kMaxKeyIdBytes + 1 + kSecretHexDigits;

// 1..64 bytes of [A-Za-z0-9_-].
bool IsValidKeyId(absl::string_view id);

// Splits a credential into its key id and its 32 secret bytes. False (and
// `secret` zeroed) when malformed. Decodes the hex digits without a branch
// or a table lookup on their value, and reads all of them whatever it finds.
// Allocates nothing.
bool ParseCredential(absl::string_view credential, absl::string_view* key_id,
                     uint8_t secret[kSecretBytes]);

// SHA-256(salt || secret) into `out`; false (treat as a mismatch) if the
// digest failed or the salt is longer than kMaxSaltBytes. Allocates nothing.
bool HashSecret(const uint8_t* salt, size_t salt_size,
                const uint8_t secret[kSecretBytes], uint8_t out[kHashBytes]);

// True when a[0..n) == b[0..n), in time that depends on n only: it reads
// every byte of both whatever the first difference (CRYPTO_memcmp).
bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n);

// Overwrites `n` bytes at `p` in a way the compiler keeps (OPENSSL_cleanse).
void Wipe(void* p, size_t n);

// RAND_bytes; false when the generator fails.
bool RandomBytes(uint8_t* out, size_t n);

// "<prefix>_<16 hex digits>" of 64 random bits; empty if the generator
// fails.
std::string RandomId(absl::string_view prefix);

// "ask_<key_id>_<hex(secret)>", built in place (no stray copy).
std::string FormatCredential(absl::string_view key_id,
                             const uint8_t secret[kSecretBytes]);

struct CredentialAccess {
  static Credential Make(std::string value) {
    return Credential(std::move(value));
  }
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IDENTITY_CREDENTIAL_H_
