// API key credentials: the format, the salted hash, the constant-time
// comparison, and that the secret appears nowhere but in the Credential that
// MintApiKey returns.

#include "src/identity/credential.h"

#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IdentityNow;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

MintedKey Mint(absl::string_view id = "key_1") {
  absl::StatusOr<MintedKey> k =
      MintApiKey(id, "usr_alice", v1::API_KEY_KIND_USER, "laptop",
                 IdentityNow(), absl::InfiniteFuture());
  EXPECT_TRUE(k.ok()) << k.status();
  return std::move(*k);
}

std::string SecretHex(absl::string_view credential) {
  return std::string(credential.substr(credential.size() - 64));
}

TEST(CredentialTest, FormatCarriesTheKeyIdAnd256BitsOfHex) {
  MintedKey k = Mint("key_abc-DEF_9");
  const std::string c(k.credential.Reveal());
  EXPECT_THAT(c, MatchesRegex("ask_key_abc-DEF_9_[0-9a-f]{64}"));
  absl::string_view id;
  uint8_t secret[32];
  ASSERT_TRUE(internal::ParseCredential(c, &id, secret));
  EXPECT_EQ(id, "key_abc-DEF_9");
  EXPECT_EQ(absl::BytesToHexString(
                absl::string_view(reinterpret_cast<const char*>(secret), 32)),
            SecretHex(c));
}

TEST(CredentialTest, RecordHoldsSaltAndSha256OfSaltAndSecret) {
  MintedKey k = Mint();
  const v1::ApiKey& r = k.record;
  EXPECT_EQ(r.id(), "key_1");
  EXPECT_EQ(r.principal_id(), "usr_alice");
  EXPECT_EQ(r.kind(), v1::API_KEY_KIND_USER);
  EXPECT_EQ(r.name(), "laptop");
  EXPECT_EQ(r.salt().size(), 16u);
  ASSERT_EQ(r.secret_hash().size(), 32u);
  EXPECT_EQ(r.created_at().seconds(), absl::ToUnixSeconds(IdentityNow()));
  EXPECT_FALSE(r.has_expires_at());
  EXPECT_FALSE(r.has_revoked_at());
  // Recompute SHA-256(salt || secret) independently of HashSecret.
  const std::string secret =
      absl::HexStringToBytes(SecretHex(k.credential.Reveal()));
  uint8_t expected[32];
  unsigned int size = 0;
  const std::string input = r.salt() + secret;
  ASSERT_EQ(EVP_Digest(input.data(), input.size(), expected, &size,
                       EVP_sha256(), nullptr),
            1);
  EXPECT_EQ(r.secret_hash(),
            std::string(reinterpret_cast<const char*>(expected), 32));
}

TEST(CredentialTest, TwoKeysShareNeitherSecretNorSalt) {
  MintedKey a = Mint("key_a");
  MintedKey b = Mint("key_b");
  EXPECT_NE(SecretHex(a.credential.Reveal()), SecretHex(b.credential.Reveal()));
  EXPECT_NE(a.record.salt(), b.record.salt());
  EXPECT_NE(a.record.secret_hash(), b.record.secret_hash());
}

TEST(CredentialTest, VerifyAcceptsOnlyTheExactCredential) {
  MintedKey k = Mint();
  const std::string c(k.credential.Reveal());
  EXPECT_TRUE(VerifyApiKeySecret(k.record, c));
  // Every single-digit change of the secret is refused.
  for (size_t i = c.size() - 64; i < c.size(); ++i) {
    std::string wrong = c;
    wrong[i] = wrong[i] == '0' ? '1' : '0';
    EXPECT_FALSE(VerifyApiKeySecret(k.record, wrong)) << i;
  }
  // Another key's id with the right secret.
  std::string other_id = c;
  other_id.replace(4, 5, "key_2");
  EXPECT_FALSE(VerifyApiKeySecret(k.record, other_id));
}

TEST(CredentialTest, MalformedCredentialsAreRefused) {
  MintedKey k = Mint();
  const std::string c(k.credential.Reveal());
  std::string upper = c;
  upper.back() = upper.back() == 'a' ? 'B' : 'A';  // upper-case hex
  const std::vector<std::string> bad = {
      "",
      "ask_",
      c.substr(0, c.size() - 1),                           // 63 digits
      c + "0",                                             // 65 digits
      "ASK" + c.substr(3),                                 // prefix case
      "xsk_" + c.substr(4),                                // prefix
      "ask__" + SecretHex(c),                              // empty id
      "ask_key 1_" + SecretHex(c),                         // space in the id
      "ask_" + std::string(65, 'k') + "_" + SecretHex(c),  // 65-byte id
      c.substr(0, c.size() - 65) + "-" + SecretHex(c),     // separator
      upper,
      c.substr(0, c.size() - 1) + "g",
      c.substr(0, c.size() - 1) + std::string(1, '\0'),
  };
  for (const std::string& b : bad) {
    absl::string_view id;
    uint8_t secret[32];
    std::memset(secret, 0xAA, sizeof(secret));
    const bool parsed = internal::ParseCredential(b, &id, secret);
    EXPECT_FALSE(parsed) << absl::CHexEscape(b);
    // A refused parse leaves no secret bytes behind.
    EXPECT_EQ(std::string(reinterpret_cast<char*>(secret), 32),
              std::string(32, '\0'));
    EXPECT_FALSE(VerifyApiKeySecret(k.record, b));
  }
}

// Every byte value at every digit position: accepted exactly when it is a
// lower-case hex digit, and decoded as absl::HexStringToBytes does.
TEST(CredentialTest, EveryByteAtEveryDigitPosition) {
  MintedKey k = Mint();
  const std::string c(k.credential.Reveal());
  const size_t first = c.size() - 64;
  for (size_t pos = first; pos < c.size(); ++pos) {
    for (int b = 0; b < 256; ++b) {
      std::string v = c;
      v[pos] = static_cast<char>(b);
      const bool hex = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f');
      absl::string_view id;
      uint8_t secret[32];
      ASSERT_EQ(internal::ParseCredential(v, &id, secret), hex)
          << "position " << pos - first << " byte " << b;
      if (hex) {
        ASSERT_EQ(std::string(reinterpret_cast<char*>(secret), 32),
                  absl::HexStringToBytes(v.substr(first)))
            << "position " << pos - first << " byte " << b;
      }
    }
  }
}

TEST(CredentialTest, KeyIdWithUnderscoresParsesFromTheEnd) {
  MintedKey k = Mint("a_b_c");
  absl::string_view id;
  uint8_t secret[32];
  ASSERT_TRUE(internal::ParseCredential(k.credential.Reveal(), &id, secret));
  EXPECT_EQ(id, "a_b_c");
  EXPECT_TRUE(VerifyApiKeySecret(k.record, k.credential.Reveal()));
}

TEST(CredentialTest, MintRefusesABadKeyId) {
  EXPECT_THAT(MintApiKey("key/1", "usr_alice", v1::API_KEY_KIND_USER, "x",
                         IdentityNow(), absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("key id \"key/1\"")));
  EXPECT_THAT(
      MintApiKey(std::string(65, 'k'), "usr_alice", v1::API_KEY_KIND_USER, "x",
                 IdentityNow(), absl::InfiniteFuture()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not 1..64")));
}

// ---- The secret appears nowhere but in Reveal() ----

TEST(CredentialTest, SecretIsNotInTheRecordNorInDebugStrings) {
  MintedKey k = Mint();
  const std::string hex = SecretHex(k.credential.Reveal());
  const std::string raw = absl::HexStringToBytes(hex);
  const std::string serialized = k.record.SerializeAsString();
  const std::string text = k.record.DebugString();
  for (const std::string& out : {serialized, text}) {
    EXPECT_THAT(out, Not(HasSubstr(hex)));
    EXPECT_THAT(out, Not(HasSubstr(raw)));
    EXPECT_THAT(out, Not(HasSubstr(hex.substr(0, 16))));
  }
  EXPECT_EQ(k.credential.DebugString(), "ask_key_1_<redacted>");
  EXPECT_THAT(k.credential.DebugString(), Not(HasSubstr(hex.substr(0, 8))));
}

TEST(CredentialTest, MovingACredentialLeavesNothingBehind) {
  MintedKey k = Mint();
  const std::string copy(k.credential.Reveal());
  Credential moved = std::move(k.credential);
  EXPECT_EQ(moved.Reveal(), copy);
  EXPECT_TRUE(k.credential.Reveal().empty());  // NOLINT: moved-from on purpose
  Credential assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.Reveal(), copy);
  EXPECT_TRUE(moved.Reveal().empty());  // NOLINT
  EXPECT_EQ(Credential().DebugString(), "<no credential>");
}

// ---- Constant-time comparison ----

TEST(ConstantTimeEqualsTest, EqualityAtEveryMismatchPosition) {
  uint8_t a[32], b[32];
  for (int i = 0; i < 32; ++i) a[i] = b[i] = static_cast<uint8_t>(i * 7);
  EXPECT_TRUE(internal::ConstantTimeEquals(a, b, 32));
  for (int i = 0; i < 32; ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      b[i] ^= flip;
      EXPECT_FALSE(internal::ConstantTimeEquals(a, b, 32)) << i;
      b[i] ^= flip;
    }
  }
  EXPECT_TRUE(internal::ConstantTimeEquals(a, b, 0));
}

// Two buffers of `n` bytes whose last byte lies on an unreadable
// (PROT_NONE) page, and whose other bytes are readable and writable.
class GuardedPair {
 public:
  explicit GuardedPair(size_t n) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    base_ =
        static_cast<uint8_t*>(mmap(nullptr, 4 * page_, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    // a: end of page 0 + first byte of page 1; b: the same on pages 2, 3.
    a_ = base_ + page_ - (n - 1);
    b_ = base_ + 3 * page_ - (n - 1);
    mprotect(base_ + page_, page_, PROT_NONE);
    mprotect(base_ + 3 * page_, page_, PROT_NONE);
  }
  ~GuardedPair() { munmap(base_, 4 * page_); }
  uint8_t* a() { return a_; }
  uint8_t* b() { return b_; }

 private:
  size_t page_;
  uint8_t* base_;
  uint8_t* a_;
  uint8_t* b_;
};

// The comparison reads the last byte even when the very first bytes differ:
// with the last byte on an unreadable page, it faults. A comparison that
// stopped at the first difference would return without touching it.
TEST(ConstantTimeEqualsDeathTest, ReadsEveryByteEvenAfterAMismatch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        GuardedPair pair(32);
        for (int i = 0; i < 31; ++i) {
          pair.a()[i] = 1;
          pair.b()[i] = 2;  // differs from the first byte on
        }
        const bool equal = internal::ConstantTimeEquals(pair.a(), pair.b(), 32);
        std::fprintf(stderr, "returned %d without faulting\n", equal);
        std::exit(0);
      },
      "");
}

// The harness tells the difference: the same layout with an early-exit loop
// returns (false) without faulting.
bool EarlyExitEquals(const volatile uint8_t* a, const volatile uint8_t* b,
                     size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

TEST(ConstantTimeEqualsDeathTest, HarnessLetsAShortCircuitingCompareLive) {
  GuardedPair pair(32);
  for (int i = 0; i < 31; ++i) {
    pair.a()[i] = 1;
    pair.b()[i] = 2;
  }
  EXPECT_FALSE(EarlyExitEquals(pair.a(), pair.b(), 32));
}

// The same holds for the whole authentication path's comparison size.
TEST(ConstantTimeEqualsTest, HashComparisonIsOverTheFullDigest) {
  MintedKey k = Mint();
  v1::ApiKey tampered = k.record;
  std::string hash = tampered.secret_hash();
  hash[31] ^= 1;  // only the last byte differs
  tampered.set_secret_hash(hash);
  EXPECT_FALSE(VerifyApiKeySecret(tampered, k.credential.Reveal()));
  hash = k.record.secret_hash();
  hash[0] ^= 1;  // only the first byte differs
  tampered.set_secret_hash(hash);
  EXPECT_FALSE(VerifyApiKeySecret(tampered, k.credential.Reveal()));
}

}  // namespace
}  // namespace arbiter
