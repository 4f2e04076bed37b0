// The audit record's byte formats: canonical bytes (golden), hashing,
// signatures, the JSON Lines layout and its strict reading, and what Append
// accepts.

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/audit/format.h"
#include "src/audit/record_check.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;

// One record with every kind of field; sequence 7 of org_123.
v1::AuditRecord GoldenRecord() {
  v1::AuditRecord r = NewAuditRecord(
      AuditActor{"usr_alice", "Alice", "alice@acme.com", "10.0.0.7"},
      AuditEvent{"org_123", audit_action::kModify, audit_entity::kUser,
                 "usr_bob", 42,
                 absl::FromUnixMicros(1690851845073682)},  // 2023-08-01
      {{"old_role", "collaborator"}, {"new_role", "owner"}});
  SetAuditMetadataBool(&r, "is_enabled", true);
  SetAuditMetadataNumber(&r, "n", 1.5);
  r.set_sequence(7);
  return r;
}

// The bytes docs/audit.md specifies, spelled out field by field.
const char kGoldenCanonical[] =
    "ARBAUD01"                          // magic
    "\x00\x00\x00\x00\x00\x00\x00\x07"  // sequence
    "\x00\x00\x00\x07"
    "org_123"           // org_id
    "\x00\x00\x00\x20"  // timestamp (32 bytes)
    "2023-08-01 01:04:05.073682+00:00"
    "\x00\x00\x00\x09"
    "usr_alice"  // user_id
    "\x00\x00\x00\x08"
    "10.0.0.7"  // source_ip
    "\x00\x00\x00\x06"
    "MODIFY"  // action
    "\x00\x00\x00\x04"
    "USER"  // entity
    "\x00\x00\x00\x07"
    "usr_bob"                           // resource_id
    "\x00\x00\x00\x00\x00\x00\x00\x2a"  // revision 42
    "\x00\x00\x00\x05"
    "Alice"  // user.name
    "\x00\x00\x00\x0e"
    "alice@acme.com"  // user.email
    "o"
    "\x00\x00\x00\x04"  // metadata: object of 4, sorted
    "\x00\x00\x00\x0a"
    "is_enabled"
    "t"
    "\x00\x00\x00\x01"
    "n"
    "d"
    "\x3f\xf8\x00\x00\x00\x00\x00\x00"  // 1.5
    "\x00\x00\x00\x08"
    "new_role"
    "s"
    "\x00\x00\x00\x05"
    "owner"
    "\x00\x00\x00\x08"
    "old_role"
    "s"
    "\x00\x00\x00\x0c"
    "collaborator"
    "\x00"   // no refusal
    "\x00";  // no checkpoint

TEST(AuditFormatTest, CanonicalBytesAreGolden) {
  std::string bytes;
  internal::AppendCanonicalAuditRecord(GoldenRecord(), &bytes);
  const std::string expected(kGoldenCanonical, sizeof(kGoldenCanonical) - 1);
  EXPECT_EQ(bytes.size(), 239u);
  EXPECT_EQ(absl::BytesToHexString(bytes), absl::BytesToHexString(expected));
}

TEST(AuditFormatTest, HashIsGolden) {
  // SHA-256(0x11 * 32 || canonical), computed independently with
  // `openssl dgst -sha256` over the bytes above.
  EXPECT_EQ(internal::HexEncode(internal::ComputeAuditHash(
                std::string(32, '\x11'), GoldenRecord())),
            "53e47395c515d05fd7c2365cb7706ef33652b659cf66b259d5c29b3a02526855");
}

TEST(AuditFormatTest, CanonicalBytesDoNotDependOnMetadataInsertionOrder) {
  v1::AuditRecord a = GoldenRecord();
  v1::AuditRecord b = GoldenRecord();
  b.clear_metadata();
  SetAuditMetadataNumber(&b, "n", 1.5);
  SetAuditMetadata(&b, "old_role", "collaborator");
  SetAuditMetadataBool(&b, "is_enabled", true);
  SetAuditMetadata(&b, "new_role", "owner");
  std::string ba, bb;
  internal::AppendCanonicalAuditRecord(a, &ba);
  internal::AppendCanonicalAuditRecord(b, &bb);
  EXPECT_EQ(ba, bb);
}

TEST(AuditFormatTest, EveryFieldChangesTheHash) {
  const v1::AuditRecord base = GoldenRecord();
  const std::string prev(32, '\0');
  const std::string h = internal::ComputeAuditHash(prev, base);
  std::vector<std::pair<std::string, v1::AuditRecord>> variants;
  auto variant = [&](const std::string& name, auto edit) {
    v1::AuditRecord r = base;
    edit(&r);
    variants.push_back({name, r});
  };
  variant("sequence", [](v1::AuditRecord* r) { r->set_sequence(8); });
  variant("org_id", [](v1::AuditRecord* r) { r->set_org_id("org_124"); });
  variant("timestamp", [](v1::AuditRecord* r) {
    r->set_timestamp("2023-08-01 01:04:05.073683+00:00");
  });
  variant("user_id", [](v1::AuditRecord* r) { r->set_user_id("usr_alicf"); });
  variant("source_ip",
          [](v1::AuditRecord* r) { r->set_source_ip("10.0.0.8"); });
  variant("action", [](v1::AuditRecord* r) { r->set_action("REMOVE"); });
  variant("entity", [](v1::AuditRecord* r) { r->set_entity("CLOUD"); });
  variant("resource_id", [](v1::AuditRecord* r) { r->set_resource_id("x"); });
  variant("revision", [](v1::AuditRecord* r) { r->set_revision(43); });
  variant("user.name",
          [](v1::AuditRecord* r) { r->mutable_user()->set_name("Alicf"); });
  variant("user.email", [](v1::AuditRecord* r) {
    r->mutable_user()->set_email("x@acme.com");
  });
  variant("metadata null", [](v1::AuditRecord* r) { r->clear_metadata(); });
  variant("metadata empty",
          [](v1::AuditRecord* r) { r->mutable_metadata()->clear_fields(); });
  variant("metadata value",
          [](v1::AuditRecord* r) { SetAuditMetadata(r, "new_role", "owneR"); });
  variant("metadata type",
          [](v1::AuditRecord* r) { SetAuditMetadata(r, "n", "1.5"); });
  variant("metadata -0",
          [](v1::AuditRecord* r) { SetAuditMetadataNumber(r, "n", 0.0); });
  variant("refusal", [](v1::AuditRecord* r) {
    SetAuditRefusal(r, absl::PermissionDeniedError(""));
  });
  variant("checkpoint", [](v1::AuditRecord* r) { r->mutable_checkpoint(); });
  // Moving bytes from one string field to the next must not collide.
  variant("boundary", [](v1::AuditRecord* r) {
    r->set_action("MODIFYU");
    r->set_entity("SER");
  });
  for (const auto& [name, r] : variants) {
    EXPECT_NE(internal::ComputeAuditHash(prev, r), h) << name;
  }
  // The previous hash too.
  EXPECT_NE(internal::ComputeAuditHash(std::string(32, '\x01'), base), h);
  // The hash and signature fields are not covered.
  v1::AuditRecord r = base;
  r.set_hash("xyz");
  r.set_prev_hash("abc");
  EXPECT_EQ(internal::ComputeAuditHash(prev, r), h);
}

TEST(AuditFormatTest, TimestampFormatIsSection9s) {
  EXPECT_EQ(FormatAuditTimestamp(absl::FromUnixMicros(1690851845073682)),
            "2023-08-01 01:04:05.073682+00:00");
  EXPECT_EQ(FormatAuditTimestamp(absl::FromUnixSeconds(1690300746)),
            "2023-07-25 15:59:06.000000+00:00");
  EXPECT_EQ(internal::CheckAuditTimestamp("2023-08-01 01:04:05.073682+00:00"),
            "");
  for (const char* bad :
       {"2023-08-01T01:04:05.073682+00:00", "2023-08-01 01:04:05+00:00",
        "2023-08-01 01:04:05.073682Z", "2023-13-01 01:04:05.073682+00:00",
        "2023-08-01 01:04:05.073682+01:00", ""}) {
    EXPECT_NE(internal::CheckAuditTimestamp(bad), "") << bad;
  }
}

// ---- JSON
// -----------------------------------------------------------------------

TEST(AuditJsonTest, LayoutIsSection9sPlusExtensions) {
  v1::AuditRecord r = GoldenRecord();
  r.set_prev_hash(std::string(32, '\0'));
  r.set_hash(std::string(32, '\xab'));
  EXPECT_EQ(AuditRecordToJson(r),
            "{\"timestamp\":\"2023-08-01 01:04:05.073682+00:00\","
            "\"user_id\":\"usr_alice\",\"source_ip\":\"10.0.0.7\","
            "\"action\":\"MODIFY\",\"entity\":\"USER\","
            "\"metadata\":{\"is_enabled\":true,\"n\":1.5,\"new_role\":"
            "\"owner\",\"old_role\":\"collaborator\"},"
            "\"user\":{\"name\":\"Alice\",\"email\":\"alice@acme.com\"},"
            "\"org_id\":\"org_123\",\"revision\":42,\"resource_id\":"
            "\"usr_bob\",\"sequence\":7,\"refusal\":null,\"checkpoint\":null,"
            "\"prev_hash\":\"" +
                std::string(64, '0') + "\",\"hash\":\"" +
                internal::HexEncode(std::string(32, '\xab')) + "\"}");
  // Metadata null, a refusal and a checkpoint.
  r.clear_metadata();
  SetAuditRefusal(&r, absl::FailedPreconditionError("last \"owner\""));
  r.mutable_checkpoint()->set_reason("export");
  r.mutable_checkpoint()->set_export_time(1690300746);
  r.mutable_checkpoint()->set_key_id("0123456789abcdef");
  r.mutable_checkpoint()->set_signature(std::string(64, '\x01'));
  const std::string json = AuditRecordToJson(r);
  EXPECT_THAT(json, HasSubstr("\"metadata\":null"));
  EXPECT_THAT(json, HasSubstr("\"refusal\":{\"code\":\"FAILED_PRECONDITION\","
                              "\"message\":\"last \\\"owner\\\"\"}"));
  EXPECT_THAT(json,
              HasSubstr("\"checkpoint\":{\"reason\":\"export\",\"export_time\":"
                        "1690300746,\"key_id\":\"0123456789abcdef\","
                        "\"signature\":\"" +
                        absl::Base64Escape(std::string(64, '\x01')) + "\"}"));
}

TEST(AuditJsonTest, RoundTripsExactly) {
  v1::AuditRecord r = GoldenRecord();
  r.set_prev_hash(std::string(32, '\x02'));
  r.set_hash(std::string(32, '\x03'));
  SetAuditRefusal(&r, absl::PermissionDeniedError("no \xc3\xa9 \n\t\x01"));
  r.set_source_ip("::1");
  auto* list =
      (*r.mutable_metadata()->mutable_fields())["list"].mutable_list_value();
  list->add_values()->set_null_value(google::protobuf::NULL_VALUE);
  list->add_values()->set_string_value("\xe2\x82\xac");
  (*(*r.mutable_metadata()->mutable_fields())["obj"]
        .mutable_struct_value()
        ->mutable_fields())["k"]
      .set_number_value(-0.0);
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord back,
                       AuditRecordFromJson(AuditRecordToJson(r), "x"));
  std::string a, b;
  internal::AppendCanonicalAuditRecord(r, &a);
  internal::AppendCanonicalAuditRecord(back, &b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(back.hash(), r.hash());
  EXPECT_EQ(back.prev_hash(), r.prev_hash());
}

// Every double survives JSON exactly (the hash covers its bits): random
// bit patterns, seeded.
TEST(AuditJsonTest, NumbersRoundTripBitForBit) {
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    if (i % 4 == 0) d = static_cast<double>(static_cast<int64_t>(bits) >> 11);
    v1::AuditRecord r = GoldenRecord();
    r.set_prev_hash(std::string(32, '\0'));
    r.set_hash(std::string(32, '\0'));
    SetAuditMetadataNumber(&r, "n", d);
    absl::StatusOr<v1::AuditRecord> back =
        AuditRecordFromJson(AuditRecordToJson(r), "x");
    ASSERT_TRUE(back.ok()) << back.status() << " seed " << seed;
    const double e = back->metadata().fields().at("n").number_value();
    uint64_t back_bits;
    std::memcpy(&back_bits, &e, sizeof(e));
    std::memcpy(&bits, &d, sizeof(d));
    ASSERT_EQ(back_bits, bits) << "seed " << seed << " value " << d << " json "
                               << AuditRecordToJson(r);
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

struct BadJsonCase {
  std::string name;
  std::string from;  // replaced in a valid line...
  std::string to;    // ...by this
  std::string message;
};

class AuditJsonStrictTest : public ::testing::TestWithParam<BadJsonCase> {};

TEST_P(AuditJsonStrictTest, Refused) {
  v1::AuditRecord r = GoldenRecord();
  r.set_prev_hash(std::string(32, '\0'));
  r.set_hash(std::string(32, '\xab'));
  r.mutable_checkpoint()->set_reason("export");
  r.mutable_checkpoint()->set_key_id("0123456789abcdef");
  r.mutable_checkpoint()->set_signature(std::string(64, '\x01'));
  const std::string line = AuditRecordToJson(r);
  const BadJsonCase& c = GetParam();
  ASSERT_NE(line.find(c.from), std::string::npos) << line;
  const std::string bad = absl::StrReplaceAll(line, {{c.from, c.to}});
  EXPECT_THAT(AuditRecordFromJson(bad, "user/1.log.jsonl:3"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("user/1.log.jsonl:3"),
                                        HasSubstr(c.message))));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditJsonStrictTest,
    ::testing::ValuesIn(std::vector<BadJsonCase>{
        {"DuplicateKey", "\"user_id\":\"usr_alice\",",
         "\"user_id\":\"usr_alice\",\"user_id\":\"usr_mallory\",",
         "duplicate key \"user_id\""},
        {"UnknownKey", "\"source_ip\":", "\"extra\":1,\"source_ip\":",
         "unknown key \"extra\""},
        {"MissingKey", "\"source_ip\":\"10.0.0.7\",", "",
         "missing key "
         "\"source_ip\""},
        {"UnknownUserKey", "\"email\":\"alice@acme.com\"",
         "\"email\":\"alice@acme.com\",\"x\":1",
         "unknown key \"x\" in "
         "\"user\""},
        {"StringAsNumber", "\"revision\":42", "\"revision\":\"42\"",
         "\"revision\" is not an unsigned 64-bit integer"},
        {"NegativeSequence", "\"sequence\":7", "\"sequence\":-7",
         "\"sequence\" is not an unsigned"},
        {"FractionalSequence", "\"sequence\":7", "\"sequence\":7.0",
         "\"sequence\" is not an unsigned"},
        {"NumberAsString", "\"action\":\"MODIFY\"", "\"action\":1",
         "\"action\" is not a string"},
        {"MetadataArray", "\"metadata\":{", "\"metadata\":[{", "invalid JSON"},
        {"UpperCaseHex", "\"hash\":\"abab", "\"hash\":\"ABAB",
         "\"hash\" is not 64 lower-case hex digits"},
        {"ShortHash", "\"prev_hash\":\"00", "\"prev_hash\":\"",
         "\"prev_hash\" is not 64 lower-case hex digits"},
        {"NonCanonicalBase64", "AQ==\"", "AR==\"",
         "\"signature\" is not canonical base64"},
        {"TrailingText", "ab\"}", "ab\"} x", "invalid JSON"},
        {"NotUtf8", "Alice", "Al\xff", "invalid JSON"},
        {"UserNotObject",
         "\"user\":{\"name\":\"Alice\",\"email\":\"alice@acme."
         "com\"}",
         "\"user\":null", "\"user\" is not an object"},
    }),
    [](const ::testing::TestParamInfo<BadJsonCase>& info) {
      return info.param.name;
    });

// ---- What Append accepts
// ----------------------------------------------------------

TEST(AuditRecordCheckTest, AcceptsABuiltRecord) {
  v1::AuditRecord r = GoldenRecord();
  r.set_sequence(0);
  EXPECT_THAT(internal::CheckAppendableAuditRecord(r, "records[0]"), IsOk());
  r.clear_timestamp();  // filled in by the log
  EXPECT_THAT(internal::CheckAppendableAuditRecord(r, "records[0]"), IsOk());
}

TEST(AuditRecordCheckTest, RefusesWhatTheLogCannotHashOrExport) {
  struct Case {
    const char* name;
    void (*edit)(v1::AuditRecord*);
    const char* message;
  };
  const Case cases[] = {
      {"no org", [](v1::AuditRecord* r) { r->clear_org_id(); },
       "records[2].org_id: missing"},
      {"org path", [](v1::AuditRecord* r) { r->set_org_id("../etc"); },
       "records[2].org_id: \"../etc\" starts with '.'"},
      {"org slash", [](v1::AuditRecord* r) { r->set_org_id("a/b"); },
       "cannot name a directory"},
      {"lower action", [](v1::AuditRecord* r) { r->set_action("invite"); },
       "records[2].action: \"invite\" is not an upper-snake-case name"},
      {"entity path", [](v1::AuditRecord* r) { r->set_entity("USER/.."); },
       "records[2].entity"},
      {"reserved", [](v1::AuditRecord* r) { r->set_entity("CHECKPOINT"); },
       "CHECKPOINT is reserved"},
      {"checkpoint", [](v1::AuditRecord* r) { r->mutable_checkpoint(); },
       "records[2].checkpoint: set by the log"},
      {"sequence", [](v1::AuditRecord* r) { r->set_sequence(3); },
       "records[2].sequence: 3 (assigned by the log"},
      {"hash", [](v1::AuditRecord* r) { r->set_hash("x"); },
       "records[2].hash: assigned by the log"},
      {"utf8", [](v1::AuditRecord* r) { r->set_user_id("\xff"); },
       "records[2].user_id: \"\\xff\" is not valid UTF-8"},
      {"nan",
       [](v1::AuditRecord* r) { SetAuditMetadataNumber(r, "d", std::nan("")); },
       "records[2].metadata.d: nan is not a JSON number"},
      {"unset value",
       [](v1::AuditRecord* r) {
         (*r->mutable_metadata()->mutable_fields())["v"];
       },
       "records[2].metadata.v: value not set"},
      {"timestamp", [](v1::AuditRecord* r) { r->set_timestamp("yesterday"); },
       "records[2].timestamp: \"yesterday\" is not a timestamp"},
      {"refusal code",
       [](v1::AuditRecord* r) { r->mutable_refusal()->set_code("denied"); },
       "records[2].refusal.code"},
  };
  for (const Case& c : cases) {
    v1::AuditRecord r = GoldenRecord();
    r.set_sequence(0);
    c.edit(&r);
    EXPECT_THAT(
        internal::CheckAppendableAuditRecord(r, "records[2]"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.name;
  }
  // Metadata nested too deep.
  v1::AuditRecord r = GoldenRecord();
  r.set_sequence(0);
  google::protobuf::Struct* s = r.mutable_metadata();
  for (int i = 0; i < internal::kAuditMaxMetadataDepth + 1; ++i) {
    s = (*s->mutable_fields())["x"].mutable_struct_value();
  }
  EXPECT_THAT(internal::CheckAppendableAuditRecord(r, "records[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested deeper than 16 levels")));
}

// ---- Keys
// -----------------------------------------------------------------------

TEST(AuditKeysTest, SignAndVerifyThroughPem) {
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(auto again, AuditSigningKey::FromPem(key->ToPem()));
  ASSERT_OK_AND_ASSIGN(auto pub,
                       AuditPublicKey::FromPem(key->public_key()->ToPem()));
  EXPECT_EQ(again->key_id(), key->key_id());
  EXPECT_EQ(pub->key_id(), key->key_id());
  EXPECT_EQ(key->key_id().size(), 16u);
  ASSERT_OK_AND_ASSIGN(std::string sig, again->Sign("message"));
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(pub->Verify("message", sig));
  EXPECT_FALSE(pub->Verify("messagf", sig));
  sig[10] ^= 1;
  EXPECT_FALSE(pub->Verify("message", sig));
  EXPECT_FALSE(pub->Verify("message", ""));
  ASSERT_OK_AND_ASSIGN(auto other, AuditSigningKey::Generate());
  EXPECT_NE(other->key_id(), key->key_id());
}

// RFC 8032 section 7.1, test 1: the key id and signature of a known key.
TEST(AuditKeysTest, Rfc8032TestVector) {
  // PKCS#8 of the secret key 9d61b19d...7f60 (openssl pkey).
  const char kPem[] =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
      "-----END PRIVATE KEY-----\n";
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::FromPem(kPem));
  ASSERT_OK_AND_ASSIGN(std::string sig, key->Sign(""));
  EXPECT_EQ(internal::HexEncode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST(AuditKeysTest, RefusesOtherKeysAndGarbage) {
  // A P-256 public key (openssl ecparam -genkey -name prime256v1).
  const char kEcPublic[] =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElZlkT79+Doi2zbys2/QLWe8OpP42\n"
      "a9J5hIjjkLn2LQmC+s5Ilh88onFYdHiPpJ85zYvzVI4zZA5AjP6Jzq1YEA==\n"
      "-----END PUBLIC KEY-----\n";
  EXPECT_THAT(AuditPublicKey::FromPem(kEcPublic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("public key, not Ed25519")));
  EXPECT_THAT(AuditPublicKey::FromPem("hello"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a PEM public key")));
  EXPECT_THAT(AuditSigningKey::FromPem(kEcPublic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an unencrypted PEM private key")));
  EXPECT_THAT(
      AuditPublicKey::FromPemFile("/nonexistent/k.pem"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/k.pem")));
}

TEST(AuditKeysTest, EncryptedKeysAreRefusedWithoutPrompting) {
  // openssl genpkey -algorithm ed25519 -aes256 -pass pass:x
  const char kEncrypted[] =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj5otxlatCVrAICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEENCdb/BiZ8hMv+Fx6rDc7OAEQD7C\n"
      "RTW6slwMGv2uTZULtGdnlNAvRSaW4cpIAbtyp4nZppVJ2iXK6uykLHT0soSxKJo1\n"
      "VRm9qQWeM8s6P0SIrVM=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_THAT(AuditSigningKey::FromPem(kEncrypted),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an unencrypted PEM private key")));
}

}  // namespace
}  // namespace arbiter
