// Publish three events and read them back. Usage: ringcast-client-quickstart [HOST:PORT]
#include <cstdio>
#include <string>

#include "ringcast/client/connection.h"
#include "ringcast/client/publisher.h"
#include "ringcast/client/subscriber.h"

int main(int argc, char** argv) {
  using namespace ringcast::client;
  auto channel = Connect({.target = argc > 1 ? argv[1] : "localhost:7470"});
  if (!channel.ok()) return 1;

  // Subscribe first, from the next event on: it sees what is published below.
  auto subscriber = Subscriber::Start(*channel, {.topic = "quickstart"});
  if (!subscriber.ok()) {
    std::fprintf(stderr, "subscribe: %s\n", subscriber.status().ToString().c_str());
    return 1;
  }

  // Events are batched; each Publish resolves to the sequence the server assigned.
  auto publisher = Publisher::Create(*channel);
  if (!publisher.ok()) return 1;
  auto last = (*publisher)->Publish("quickstart", "hello");
  (*publisher)->Publish("quickstart", "fan-out");
  (*publisher)->Publish("quickstart", "world");
  (*publisher)->Close();  // waits for every answer
  if (!last.get().ok()) return 1;

  for (int received = 0; received < 3;) {
    auto delivery = (*subscriber)->Next();
    if (!delivery.ok()) {
      std::fprintf(stderr, "next: %s\n", delivery.status().ToString().c_str());
      return 1;
    }
    for (const auto& event : delivery->events) {
      std::printf("%llu %s\n", static_cast<unsigned long long>(event.sequence()),
                  event.payload().c_str());
      ++received;
    }
  }
  return 0;
}
