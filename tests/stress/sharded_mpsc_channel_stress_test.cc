// Stress: ShardedMpscChannel with several producers, some of them registering and unregistering
// while the consumer drains.
//
// Every message carries the id of the registration that sent it (a "producer" here is one
// Producer handle's lifetime: the channel orders messages per handle, not per thread) and that
// registration's counter. The consumer checks each registration's counters go up by exactly one,
// and every slot carries a plain `drained` flag the consumer sets and the producer clears, so a
// slot reused before it was drained, or drained twice, shows (and ThreadSanitizer sees the
// ordering the head and tail indices must provide).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringcast/core.h"
#include "stress_scale.h"
#include "stress_support.h"

namespace ringcast {
namespace {

using stress::FailureLog;
using stress::kStallTimeout;
using stress::Mix;
using stress::Random;
using stress::Scaled;
using stress::WaitUntil;
using stress::Watchdog;
using Clock = std::chrono::steady_clock;

struct Message {
  int64_t producer = -1;  // registration id
  int64_t counter = -1;
  uint64_t check = 0;
  bool drained = true;  // set by the consumer after reading, cleared by the producer when reusing
};

uint64_t CheckOf(int64_t producer, int64_t counter) {
  return Mix(counter, static_cast<uint64_t>(producer));
}

// Consumer side: per-registration order, slot contents, totals. Consumer thread only.
class Receiver {
 public:
  Receiver(int64_t max_registrations, FailureLog& failures)
      : next_(static_cast<std::size_t>(max_registrations), 0), failures_(failures) {}

  void operator()(Message& m) {
    if (m.producer < 0 || m.producer >= static_cast<int64_t>(next_.size())) {
      failures_.Record(absl::StrCat("message from unknown registration ", m.producer));
      return;
    }
    int64_t& next = next_[static_cast<std::size_t>(m.producer)];
    if (m.counter != next) {
      failures_.Record(absl::StrCat("registration ", m.producer, ": message ", m.counter,
                                    " arrived when ", next, " was due"));
    }
    if (m.check != CheckOf(m.producer, m.counter)) {
      failures_.Record(absl::StrCat("registration ", m.producer, ": message ", m.counter,
                                    " has a torn or stale payload"));
    }
    if (m.drained) {
      failures_.Record(absl::StrCat("registration ", m.producer, ": message ", m.counter,
                                    " handed to the consumer twice"));
    }
    m.drained = true;
    next = m.counter + 1;
    ++received_;
  }

  [[nodiscard]] int64_t received() const { return received_; }
  [[nodiscard]] int64_t next(int64_t registration) const {
    return next_[static_cast<std::size_t>(registration)];
  }

 private:
  std::vector<int64_t> next_;
  FailureLog& failures_;
  int64_t received_ = 0;
};

using Channel = ShardedMpscChannel<Message>;

// Publishes `count` messages of registration `id`, waiting while the shard is full (at most
// kStallTimeout without progress). Returns how many were published.
int64_t PublishAll(Channel::Producer& producer, int64_t id, int64_t count, FailureLog& failures) {
  auto deadline = Clock::now() + kStallTimeout;
  for (int64_t counter = 0; counter < count;) {
    const bool published = producer.TryPublish([&](Message& m) {
      if (!m.drained) {
        failures.Record(absl::StrCat("registration ", id, ": slot reused before it was drained"));
      }
      m.drained = false;
      m.producer = id;
      m.counter = counter;
      m.check = CheckOf(id, counter);
    });
    if (published) {
      ++counter;
      deadline = Clock::now() + kStallTimeout;
    } else if (Clock::now() > deadline) {
      failures.Record(absl::StrCat("registration ", id, ": shard full for ", kStallTimeout.count(),
                                   " s at message ", counter));
      return counter;
    } else {
      std::this_thread::yield();
    }
  }
  return count;
}

// Drains until `done()` (checked after a Drain that found nothing), or until nothing arrived for
// kStallTimeout.
template <class Done>
void DrainUntil(Channel& channel, Receiver& receiver, Done&& done, FailureLog& failures) {
  auto deadline = Clock::now() + kStallTimeout;
  Random random(99);
  for (;;) {
    const std::size_t batch = 1 + static_cast<std::size_t>(random.Below(64));
    if (channel.Drain(receiver, batch) > 0) {
      deadline = Clock::now() + kStallTimeout;
      continue;
    }
    if (done()) return;
    if (Clock::now() > deadline) {
      failures.Record(absl::StrCat("consumer gave up after ", kStallTimeout.count(),
                                   " s without a message, ", receiver.received(), " received"));
      return;
    }
    std::this_thread::yield();
  }
}

void RunFixedProducers(int producers, int64_t shard_capacity, int64_t per_producer) {
  SCOPED_TRACE(absl::StrCat(producers, " producers, shard capacity ", shard_capacity));
  FailureLog failures;
  Channel channel(static_cast<std::size_t>(producers), shard_capacity);
  Receiver receiver(producers, failures);
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      absl::StatusOr<Channel::Producer> producer = channel.RegisterProducer();
      if (!producer.ok()) {
        failures.Record(absl::StrCat("producer ", p, ": ", producer.status().ToString()));
      } else {
        PublishAll(*producer, p, per_producer, failures);
      }
      finished.fetch_add(1, std::memory_order_release);  // pairs with the acquire in done
    });
  }
  std::thread consumer([&] {
    DrainUntil(
        channel, receiver,
        [&] {
          return finished.load(std::memory_order_acquire) == producers && channel.SizeGuess() == 0;
        },
        failures);
  });
  for (auto& t : threads) t.join();
  consumer.join();
  EXPECT_EQ(receiver.received(), producers * per_producer);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(receiver.next(p), per_producer) << "producer " << p;
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

TEST(ShardedMpscChannelStress, EveryProducersMessagesArriveOnceAndInOrder) {
  Watchdog watchdog;
  RunFixedProducers(3, 64, Scaled(1'000'000, 20'000));
}

TEST(ShardedMpscChannelStress, TinyShardsWrapConstantlyWithoutLosingOrRepeatingMessages) {
  Watchdog watchdog;
  for (int64_t capacity : {1, 2}) {
    RunFixedProducers(3, capacity, Scaled(200'000, 5'000));
    if (HasFailure()) return;
  }
}

// Threads outnumber shards, so registrations fail with RESOURCE_EXHAUSTED and are retried, shards
// are freed by the consumer and reused by other threads, and a handle is sometimes replaced by
// move assignment (closing the shard it held).
TEST(ShardedMpscChannelStress, ProducersRegisteringAndUnregisteringWhileTheConsumerDrains) {
  Watchdog watchdog;
  constexpr int kThreads = 4;
  constexpr std::size_t kShards = 2;
  const int64_t rounds = Scaled(20'000, 1'000);
  const int64_t max_registrations = kThreads * rounds * 2;
  FailureLog failures;
  Channel channel(kShards, 8);
  Receiver receiver(max_registrations, failures);
  std::vector<int64_t> published(static_cast<std::size_t>(max_registrations), 0);  // by owner
  std::atomic<int64_t> next_id{0};
  std::atomic<int64_t> published_total{0};
  std::atomic<int64_t> exhausted{0};
  std::atomic<int> finished{0};

  // Registers, retrying while every shard is taken (bounded).
  auto register_producer = [&]() -> std::optional<Channel::Producer> {
    const auto deadline = Clock::now() + kStallTimeout;
    for (;;) {
      absl::StatusOr<Channel::Producer> producer = channel.RegisterProducer();
      if (producer.ok()) {
        if (producer->shard_index() >= kShards) failures.Record("shard index out of range");
        return std::move(*producer);
      }
      if (producer.status().code() != absl::StatusCode::kResourceExhausted) {
        failures.Record(producer.status().ToString());
        return std::nullopt;
      }
      exhausted.fetch_add(1, std::memory_order_relaxed);
      if (Clock::now() > deadline) {
        failures.Record("no shard became free in time");
        return std::nullopt;
      }
      std::this_thread::yield();
    }
  };
  auto publish = [&](Channel::Producer& producer, int64_t id, int64_t count) {
    const int64_t n = PublishAll(producer, id, count, failures);
    published[static_cast<std::size_t>(id)] = n;
    published_total.fetch_add(n, std::memory_order_relaxed);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Random random(static_cast<uint64_t>(t) + 5);
      for (int64_t r = 0; r < rounds && failures.count() == 0; ++r) {
        std::optional<Channel::Producer> producer = register_producer();
        if (!producer) return;
        const int64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
        publish(*producer, id, random.Below(40));
        if (r % 4 == 0) {
          // One attempt at a second shard; on success it replaces the first by move assignment.
          absl::StatusOr<Channel::Producer> second = channel.RegisterProducer();
          if (second.ok()) {
            const int64_t second_id = next_id.fetch_add(1, std::memory_order_relaxed);
            publish(*second, second_id, random.Below(40));
            *producer = std::move(*second);  // closes the first registration's shard
          }
        }
      }                                                  // each handle unregisters here
      finished.fetch_add(1, std::memory_order_release);  // pairs with the acquire below
    });
  }
  std::thread consumer([&] {
    DrainUntil(
        channel, receiver,
        [&] {
          return finished.load(std::memory_order_acquire) == kThreads &&
                 receiver.received() == published_total.load(std::memory_order_relaxed);
        },
        failures);
  });
  for (auto& t : threads) t.join();
  consumer.join();

  const int64_t registrations = next_id.load();
  EXPECT_GT(registrations, static_cast<int64_t>(kShards)) << "shards were never reused";
  EXPECT_GT(exhausted.load(), 0) << "registration never found every shard taken";
  EXPECT_EQ(receiver.received(), published_total.load());
  for (int64_t id = 0; id < registrations; ++id) {
    ASSERT_EQ(receiver.next(id), published[static_cast<std::size_t>(id)]) << "registration " << id;
  }
  // Every handle is gone: one more drain (this thread is the consumer now) frees every shard.
  channel.Drain(receiver);
  std::vector<Channel::Producer> all;
  for (std::size_t i = 0; i < kShards; ++i) {
    absl::StatusOr<Channel::Producer> producer = channel.RegisterProducer();
    ASSERT_TRUE(producer.ok()) << "shard " << i << " was never freed: " << producer.status();
    all.push_back(std::move(*producer));
  }
  EXPECT_EQ(channel.RegisterProducer().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace ringcast
