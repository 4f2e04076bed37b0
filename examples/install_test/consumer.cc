// Links against an installed Arbiter and makes one allowed and one denied
// check on the demo organization. Exits non-zero on any surprise.
#include <iostream>

#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/v1/policy_set.pb.h"

int main() {
  auto engine = arbiter::Engine::Create(arbiter::DemoPolicySet());
  if (!engine.ok()) {
    std::cerr << engine.status() << "\n";
    return 1;
  }
  arbiter::AccessRequest allowed;
  allowed.principal = "alice@acme.com";
  allowed.permission = "cloud.delete";
  allowed.resource = "prod";
  arbiter::AccessRequest denied = allowed;
  denied.principal = "mallory@acme.com";
  arbiter::Decision a = (*engine)->Check(allowed);
  arbiter::Decision d = (*engine)->Check(denied);
  std::cout << "consumer: " << a << " / " << d << "\n";
  return a.allowed() && !d.allowed() ? 0 : 1;
}
