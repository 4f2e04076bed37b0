// A small state for the quota and budget tests, and helpers to add quotas
// and budgets to it.
//
//   org_1 "acme"
//     cld_a "alpha": prj_a_default (default), prj_a1 "one", prj_a2 "two"
//     cld_b "beta":  prj_b_default (default), prj_b1 "one"
//     principals: usr_1 (u1@acme.com), usr_2, usr_3, sa_ci (service
//                 account), usr_del (deleted), usr_inv (invited)
//   org_2 "other"
//     cld_x "xray": prj_x_default (default)
//     principals: usr_x

#ifndef ARBITER_TESTS_QUOTA_QUOTA_TEST_STATE_H_
#define ARBITER_TESTS_QUOTA_QUOTA_TEST_STATE_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "arbiter/v1/policy_set.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace quota_testing {

inline v1::PolicySet BaseState() {
  v1::PolicySet s;
  const bool ok = google::protobuf::TextFormat::ParseFromString(
      R"pb(
        revision: 1
        organizations { id: "org_1" name: "acme" }
        organizations { id: "org_2" name: "other" }
        clouds { id: "cld_a" org_id: "org_1" name: "alpha" }
        clouds { id: "cld_b" org_id: "org_1" name: "beta" }
        clouds { id: "cld_x" org_id: "org_2" name: "xray" }
        projects {
          id: "prj_a_default"
          cloud_id: "cld_a"
          name: "default"
          is_default: true
        }
        projects { id: "prj_a1" cloud_id: "cld_a" name: "one" }
        projects { id: "prj_a2" cloud_id: "cld_a" name: "two" }
        projects {
          id: "prj_b_default"
          cloud_id: "cld_b"
          name: "default"
          is_default: true
        }
        projects { id: "prj_b1" cloud_id: "cld_b" name: "one" }
        projects {
          id: "prj_x_default"
          cloud_id: "cld_x"
          name: "default"
          is_default: true
        }
        principals {
          id: "usr_1"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "u1@acme.com"
        }
        principals {
          id: "usr_2"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "u2@acme.com"
        }
        principals {
          id: "usr_3"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "u3@acme.com"
        }
        principals {
          id: "sa_ci"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
          email: "ci@org-1.serviceaccount.com"
        }
        principals {
          id: "usr_del"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "del@acme.com"
          state: PRINCIPAL_STATE_DELETED
        }
        principals {
          id: "usr_inv"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "inv@acme.com"
          state: PRINCIPAL_STATE_INVITED
        }
        principals {
          id: "usr_x"
          org_id: "org_2"
          kind: PRINCIPAL_KIND_USER
          email: "x@other.com"
        }
      )pb",
      &s);
  EXPECT_TRUE(ok);
  return s;
}

// Parses a ResourceQuota or Budget from text format.
template <typename T>
T Parse(absl::string_view text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text),
                                                            &message))
      << text;
  return message;
}

inline v1::ResourceQuota* AddQuota(v1::PolicySet* s, absl::string_view text) {
  v1::ResourceQuota* q = s->add_quotas();
  *q = Parse<v1::ResourceQuota>(text);
  return q;
}

inline v1::Budget* AddBudget(v1::PolicySet* s, absl::string_view text) {
  v1::Budget* b = s->add_budgets();
  *b = Parse<v1::Budget>(text);
  return b;
}

inline std::unique_ptr<const QuotaBook> MakeBook(const v1::PolicySet& s) {
  absl::StatusOr<std::unique_ptr<const QuotaBook>> book = QuotaBook::Create(s);
  EXPECT_TRUE(book.ok()) << book.status();
  return book.ok() ? std::move(*book) : nullptr;
}

inline Node MakeNode(absl::string_view cloud, absl::string_view project,
                     absl::string_view creator, int64_t cpus = 0,
                     int64_t gpus = 0, absl::string_view type = "",
                     int64_t accelerators = 0) {
  Node n;
  n.cloud_id = cloud;
  n.project_id = project;
  n.creator_id = creator;
  n.cpus = cpus;
  n.gpus = gpus;
  n.accelerator_type = type;
  n.accelerators = accelerators;
  return n;
}

inline absl::Time Utc(int year, int month, int day, int hour = 0,
                      int minute = 0, int second = 0) {
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second),
      absl::UTCTimeZone());
}

}  // namespace quota_testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_QUOTA_QUOTA_TEST_STATE_H_
