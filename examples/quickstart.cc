// Quickstart: load the built-in demo organization, compile it, and ask a
// dozen questions, printing each decision with its reason.
//
//   ./build/examples/quickstart

#include <iostream>
#include <memory>

#include "absl/time/time.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"

int main() {
  absl::StatusOr<std::unique_ptr<const arbiter::Engine>> engine =
      arbiter::Engine::Create(arbiter::DemoPolicySet());
  if (!engine.ok()) {
    std::cerr << "compile failed: " << engine.status() << "\n";
    return 1;
  }
  std::cout << "demo organization: " << (*engine)->num_principals()
            << " principals, " << (*engine)->num_resources() << " resources, "
            << (*engine)->num_grants() << " grants, revision "
            << (*engine)->revision() << "\n\n";

  // Decisions about grant expiry are made at a fixed instant so that the
  // output does not change with the calendar.
  const absl::Time before_expiry = absl::FromCivil(
      absl::CivilSecond(2026, 12, 1, 0, 0, 0), absl::UTCTimeZone());
  const absl::Time after_expiry = absl::FromCivil(
      absl::CivilSecond(2027, 2, 1, 0, 0, 0), absl::UTCTimeZone());

  struct Question {
    const char* principal;
    const char* permission;
    const char* resource;
    absl::Time at;
    arbiter::Channel channel;
    const char* why;
  };
  const Question questions[] = {
      {"alice@acme.com", "project.workload.delete", "prod/ml-prod/nightly-etl",
       before_expiry, arbiter::Channel::kApi, "org owner: implicit owner everywhere"},
      {"bob@acme.com", "cloud.members.manage", "prod", before_expiry,
       arbiter::Channel::kApi, "cloud owner manages members"},
      {"bob@acme.com", "project.view", "prod/ml-prod", before_expiry,
       arbiter::Channel::kApi, "cloud owner, private project: no inheritance"},
      {"frank@acme.com", "project.workload.create", "prod/web", before_expiry,
       arbiter::Channel::kApi, "auto-added member, public project: implicit write"},
      {"erin@acme.com", "project.workload.create", "prod/ml-prod", before_expiry,
       arbiter::Channel::kApi, "write on ml-prod through group ml-team"},
      {"kim@acme.com", "project.workload.view", "prod/ml-prod/dave-notebook",
       before_expiry, arbiter::Channel::kApi, "nested group ml-interns in ml-team"},
      {"erin@acme.com", "project.workload.delete", "prod/ml-prod/dave-notebook",
       before_expiry, arbiter::Channel::kApi, "writers delete only their own workloads"},
      {"heidi@acme.com", "project.workload.create", "prod/web", before_expiry,
       arbiter::Channel::kApi, "cloud_read_only caps public-project access"},
      {"heidi@acme.com", "org.images.create", "img_acme_ml", before_expiry,
       arbiter::Channel::kApi, "org deny role image_reader"},
      {"grace@acme.com", "project.view", "research/ml-research", before_expiry,
       arbiter::Channel::kApi, "time-bounded grant, before expiry"},
      {"grace@acme.com", "project.view", "research/ml-research", after_expiry,
       arbiter::Channel::kApi, "time-bounded grant, after expiry"},
      {"ci@org-123.serviceaccount.com", "project.workload.create", "prod/ml-prod",
       before_expiry, arbiter::Channel::kConsole, "service accounts never use the console"},
      {"judy@acme.com", "cloud.view", "prod", before_expiry,
       arbiter::Channel::kApi, "deleted users hold nothing"},
      {"mallory@acme.com", "project.view", "prod/web", before_expiry,
       arbiter::Channel::kApi, "org member without a cloud grant"},
  };

  for (const Question& q : questions) {
    arbiter::AccessRequest request;
    request.principal = q.principal;
    request.permission = q.permission;
    request.resource = q.resource;
    request.context.now = q.at;
    request.context.channel = q.channel;
    arbiter::Decision d = (*engine)->Check(request);
    std::cout << (d.allowed() ? "ALLOW " : "DENY  ") << q.principal << " "
              << q.permission << " " << q.resource << "\n"
              << "      " << arbiter::ReasonName(d.reason);
    if (!d.grant_id.empty()) std::cout << " (grant " << d.grant_id << ")";
    std::cout << " -- " << q.why << "\n";
  }
  return 0;
}
