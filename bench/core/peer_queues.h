// The queues measured against the ringcast disruptor, behind one small interface so that every
// topology is written once for all of them:
//
//   Q::Event, Q::kName, Q::kMultiProducer
//   Q(int producers, std::size_t capacity)        builds, then touches every page it will use
//   TryPush(int producer, const Event*, n)        appends the longest prefix that fits; its length
//   TryConsume(handle, max)                       hands 0..max events to handle(Event&); the count
//   PushBlocking / PopBlocking (optional)         the queue's own sleeping waits
//
// `producer` numbers the producer threads from 0; each number belongs to one thread, which lets
// queues with per-producer state (tokens, shards) keep it here. TryConsume is for the single
// consumer thread. Each queue is driven through its fastest documented API: bulk calls where it
// has them, tokens for moodycamel's ConcurrentQueue.
#ifndef RINGCAST_BENCH_CORE_PEER_QUEUES_H_
#define RINGCAST_BENCH_CORE_PEER_QUEUES_H_

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "bench/core/mutex_deque_queue.h"
#include "boost/lockfree/queue.hpp"
#include "boost/lockfree/spsc_queue.hpp"
#include "concurrentqueue/concurrentqueue.h"
#include "readerwriterqueue/readerwriterqueue.h"
#include "ringcast/core/check.h"
#include "ringcast/core/sharded_mpsc_channel.h"

namespace ringcast::bench {

// Copy-out queues pop into a buffer of this many events on the stack, then hand them over.
inline constexpr std::size_t kPopBuffer = 256;

template <class Q>
concept PeerQueue = requires(Q& q, int producer, const typename Q::Event* items, std::size_t n,
                             void (*handle)(typename Q::Event&)) {
  { Q::kName } -> std::convertible_to<std::string_view>;
  { Q::kMultiProducer } -> std::convertible_to<bool>;
  { q.TryPush(producer, items, n) } -> std::same_as<std::size_t>;
  { q.TryConsume(handle, n) } -> std::same_as<std::size_t>;
};

// Queues that sleep on their own condition variables in the blocking wait mode.
template <class Q>
concept HasBlockingCalls = requires(Q& q, int producer, const typename Q::Event* items,
                                    std::size_t n, void (*handle)(typename Q::Event&)) {
  q.PushBlocking(producer, items, n);
  { q.PopBlocking(handle, n) } -> std::same_as<std::size_t>;
};

// Pops up to `max` events with `pop(T* out, std::size_t n) -> std::size_t` into a stack buffer
// and hands them to `handle`.
template <class T, class Pop, class F>
std::size_t PopThroughBuffer(Pop&& pop, F& handle, std::size_t max) {
  T buffer[kPopBuffer];
  const std::size_t popped = pop(buffer, std::min(max, kPopBuffer));
  for (std::size_t i = 0; i < popped; ++i) handle(buffer[i]);
  return popped;
}

template <class T>
class MutexDequePeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "mutex_deque";
  static constexpr bool kMultiProducer = true;

  MutexDequePeer(int /*producers*/, std::size_t capacity) : queue_(capacity) {}

  std::size_t TryPush(int /*producer*/, const T* items, std::size_t n) {
    return queue_.TryPush(items, n);
  }
  void PushBlocking(int /*producer*/, const T* items, std::size_t n) {
    queue_.PushBlocking(items, n);
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    return PopThroughBuffer<T>([&](T* out, std::size_t n) { return queue_.TryPop(out, n); }, handle,
                               max);
  }
  template <class F>
  std::size_t PopBlocking(F& handle, std::size_t max) {
    return PopThroughBuffer<T>([&](T* out, std::size_t n) { return queue_.PopBlocking(out, n); },
                               handle, max);
  }

 private:
  MutexDequeQueue<T> queue_;
};

template <class T>
class BoostSpscPeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "boost_spsc";
  static constexpr bool kMultiProducer = false;

  BoostSpscPeer(int producers, std::size_t capacity) : queue_(capacity) {
    RINGCAST_CHECK(producers == 1, "boost::lockfree::spsc_queue has a single producer");
    // The ring is raw storage until written: fault its pages in now, not in the timed run.
    const T item{};
    while (queue_.push(item)) {
    }
    queue_.consume_all([](const T&) {});
  }

  std::size_t TryPush(int /*producer*/, const T* items, std::size_t n) {
    if (n == 1) return queue_.push(*items) ? 1 : 0;
    return queue_.push(items, n);
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    return PopThroughBuffer<T>([&](T* out, std::size_t k) { return queue_.pop(out, k); }, handle,
                               max);
  }

 private:
  boost::lockfree::spsc_queue<T> queue_;
};

template <class T>
class BoostQueuePeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "boost_queue";
  static constexpr bool kMultiProducer = true;
  // Its free list indexes nodes with 16 bits, one node is a dummy: 65534 is the most it holds.
  static constexpr std::size_t kMaxCapacity = 65534;

  BoostQueuePeer(int /*producers*/, std::size_t capacity)
      : queue_(std::min(capacity, kMaxCapacity)) {}

  std::size_t TryPush(int /*producer*/, const T* items, std::size_t n) {
    std::size_t pushed = 0;
    while (pushed < n && queue_.bounded_push(items[pushed])) ++pushed;
    return pushed;
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    std::size_t popped = 0;
    T item;
    while (popped < max && queue_.pop(item)) {
      handle(item);
      ++popped;
    }
    return popped;
  }

 private:
  boost::lockfree::queue<T, boost::lockfree::fixed_sized<true>> queue_;
};

template <class T>
class MoodycamelRwPeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "moodycamel_rwq";
  static constexpr bool kMultiProducer = false;

  MoodycamelRwPeer(int producers, std::size_t capacity) : queue_(capacity) {
    RINGCAST_CHECK(producers == 1, "moodycamel::ReaderWriterQueue has a single producer");
    const T item{};
    while (queue_.try_enqueue(item)) {
    }
    T out;
    while (queue_.try_dequeue(out)) {
    }
  }

  std::size_t TryPush(int /*producer*/, const T* items, std::size_t n) {
    std::size_t pushed = 0;
    while (pushed < n && queue_.try_enqueue(items[pushed])) ++pushed;
    return pushed;
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    std::size_t popped = 0;
    // peek/pop hands the event over in place, like the ringcast processors do.
    for (T* item; popped < max && (item = queue_.peek()) != nullptr; ++popped) {
      handle(*item);
      queue_.pop();
    }
    return popped;
  }

 private:
  moodycamel::ReaderWriterQueue<T> queue_;
};

template <class T>
class MoodycamelConcurrentPeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "moodycamel_cq";
  static constexpr bool kMultiProducer = true;

  // try_enqueue never allocates, but an explicit producer's block index starts with room for 32
  // blocks (1024 events) and only an allocating enqueue grows it. Each producer enqueues its share
  // of `capacity` once, allocating, and the queue is drained: from then on try_enqueue can hold
  // `capacity` events in all, as the other queues do, without allocating.
  MoodycamelConcurrentPeer(int producers, std::size_t capacity)
      : queue_(capacity), consumer_token_(queue_) {
    tokens_.reserve(static_cast<std::size_t>(producers));
    for (int p = 0; p < producers; ++p) tokens_.emplace_back(queue_);
    const std::size_t share = capacity / static_cast<std::size_t>(producers);
    for (auto& token : tokens_) {
      for (std::size_t i = 0; i < share; ++i) queue_.enqueue(token, T{});
    }
    T out[kPopBuffer];
    while (queue_.try_dequeue_bulk(consumer_token_, out, kPopBuffer) != 0) {
    }
  }

  std::size_t TryPush(int producer, const T* items, std::size_t n) {
    auto& token = tokens_[static_cast<std::size_t>(producer)];
    if (n == 1) return queue_.try_enqueue(token, *items) ? 1 : 0;
    return queue_.try_enqueue_bulk(token, items, n) ? n : 0;  // all or nothing
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    return PopThroughBuffer<T>(
        [&](T* out, std::size_t k) { return queue_.try_dequeue_bulk(consumer_token_, out, k); },
        handle, max);
  }

 private:
  moodycamel::ConcurrentQueue<T> queue_;
  std::vector<moodycamel::ProducerToken> tokens_;  // one per producer thread
  moodycamel::ConsumerToken consumer_token_;
};

// ringcast's own many-to-one channel, one single-producer ring per producer: run through the
// peer interface because, like the peers, it is polled rather than waited on.
template <class T>
class RingcastShardedPeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "ringcast_sharded";
  static constexpr bool kMultiProducer = true;

  // The shards split `capacity` between them (rounded down to a power of two each), so the
  // channel holds no more than the other queues.
  RingcastShardedPeer(int producers, std::size_t capacity)
      : channel_(static_cast<std::size_t>(producers), ShardCapacity(producers, capacity)) {
    for (int p = 0; p < producers; ++p) {
      auto producer = channel_.RegisterProducer();
      RINGCAST_CHECK(producer.ok(), "the channel was sized for every producer");
      producers_.push_back(*std::move(producer));
    }
  }

  std::size_t TryPush(int producer, const T* items, std::size_t n) {
    auto& handle = producers_[static_cast<std::size_t>(producer)];
    std::size_t pushed = 0;
    for (T* slot; pushed < n && (slot = handle.TryClaim()) != nullptr; ++pushed) {
      *slot = items[pushed];
      handle.Commit();
    }
    return pushed;
  }
  // Drain's limit is a total over the shards.
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    return channel_.Drain(handle, max);
  }

 private:
  static int64_t ShardCapacity(int producers, std::size_t capacity) {
    return static_cast<int64_t>(std::bit_floor(capacity / static_cast<std::size_t>(producers)));
  }

  ShardedMpscChannel<T> channel_;
  std::vector<typename ShardedMpscChannel<T>::Producer> producers_;
};

// ShardedMpscChannel driven through TryReserve(n): a batch of n items is reserved, copied and
// committed as one unit (all of it or nothing), instead of one claim and commit per item.
template <class T>
class RingcastShardedReservePeer {
 public:
  using Event = T;
  static constexpr std::string_view kName = "ringcast_sharded_reserve";
  static constexpr bool kMultiProducer = true;

  RingcastShardedReservePeer(int producers, std::size_t capacity)
      : channel_(static_cast<std::size_t>(producers), ShardCapacity(producers, capacity)) {
    for (int p = 0; p < producers; ++p) {
      auto producer = channel_.RegisterProducer();
      RINGCAST_CHECK(producer.ok(), "the channel was sized for every producer");
      producers_.push_back(*std::move(producer));
    }
  }

  // All n or none: the caller (Channel::Push) waits and retries when none fit.
  std::size_t TryPush(int producer, const T* items, std::size_t n) {
    auto run = producers_[static_cast<std::size_t>(producer)].TryReserve(n);
    if (!run) return 0;
    for (std::size_t i = 0; i < n; ++i) run[i] = items[i];
    run.Commit();
    return n;
  }
  template <class F>
  std::size_t TryConsume(F& handle, std::size_t max) {
    return channel_.Drain(handle, max);
  }

 private:
  static int64_t ShardCapacity(int producers, std::size_t capacity) {
    return static_cast<int64_t>(std::bit_floor(capacity / static_cast<std::size_t>(producers)));
  }

  ShardedMpscChannel<T> channel_;
  std::vector<typename ShardedMpscChannel<T>::Producer> producers_;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_PEER_QUEUES_H_
