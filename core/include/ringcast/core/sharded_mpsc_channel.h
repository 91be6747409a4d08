// ShardedMpscChannel<E>: many producers, one consumer, no contention between producers.
//
// Each registered producer owns a single-producer single-consumer ring (a shard); the consumer
// drains the shards in turn. Order is FIFO per producer; there is no order between producers.
// Slots are preallocated and reused in place: a producer claims a slot (TryClaim), fills it and
// commits it (Commit), or reserves n slots at once (TryReserve) and commits them together, so the
// steady state allocates nothing. A shard's ring is allocated when a producer first needs it, not
// up front: a channel sized for 32 producers costs the memory of the ones that registered.
//
//   ShardedMpscChannel<Order> channel(ShardedMpscChannelOptions::HighThroughput());
//   auto producer = channel.RegisterProducer();          // StatusOr<Producer>
//   if (auto span = producer->TryReserve(3)) {            // all three slots or none
//     for (std::size_t i = 0; i < span.size(); ++i) span[i].id = i;
//     span.Commit();                                      // the three become visible together
//   }
//   channel.Drain([](Order& o) { ... }, /*max_events=*/1000);  // at most 1000 in total
//
// Counters (events committed and drained, claims refused on a full shard) are opt-in through the
// second template parameter: ShardedMpscChannel<E, ChannelCounters> keeps them, the default
// NoChannelCounters compiles them out.
//
// Thread safety: RegisterProducer from any thread. A Producer handle, and a Reservation taken
// from it, belong to one thread at a time; destroying a handle unregisters the shard once the
// consumer has drained it. Drain belongs to the single consumer thread. SizeGuess and Stats are
// safe from any thread (approximate while producers and the consumer run).
//
// Memory ordering: a shard's tail is stored with release by its producer after writing the slots
// and loaded with acquire by the consumer (pair one); the head is stored with release by the
// consumer after reading and loaded with acquire by the producer before reusing a slot (pair
// two). A shard's state moves free -> active (acq_rel CAS by the registering thread) -> closed
// (release, by the producer's destructor) -> free (release, by the consumer once drained); each
// transition's acquire side sees the previous owner's writes, including the ring indices. A new
// shard is published by a release store of its pointer and then of the shard count; the consumer
// loads the count and the pointer with acquire.
#ifndef RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_
#define RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringcast/core/check.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence.h"

namespace ringcast {

// How many producers a channel takes and how big each producer's shard is.
struct ShardedMpscChannelOptions {
  std::size_t max_producers = 8;
  int64_t shard_capacity = 4096;  // slots per producer, a power of two

  // Small shards that stay in the caches: the lowest latency per event, for a few producers.
  static constexpr ShardedMpscChannelOptions LowLatency() {
    return {.max_producers = 8, .shard_capacity = 1024};
  }
  // Deep shards that absorb bursts and let the consumer drain long runs; memory grows with the
  // producers that register (64 Ki slots each), not with max_producers.
  static constexpr ShardedMpscChannelOptions HighThroughput() {
    return {.max_producers = 32, .shard_capacity = 64 * 1024};
  }
};

// Counter policies (the second template parameter).
struct NoChannelCounters {
  static constexpr bool kEnabled = false;
};
struct ChannelCounters {
  static constexpr bool kEnabled = true;
};
template <class C>
concept ChannelCounterPolicy = requires {
  { C::kEnabled } -> std::convertible_to<bool>;
};

// A snapshot of a ChannelCounters channel, summed over its shards.
struct ChannelStats {
  uint64_t committed = 0;     // events made visible to the consumer
  uint64_t drained = 0;       // events handed to the consumer's handler
  uint64_t full = 0;          // claims and reservations refused because a shard was full
  std::size_t allocated = 0;  // shards whose ring exists
};

template <class E, ChannelCounterPolicy Counters = NoChannelCounters>
class ShardedMpscChannel {
  struct Shard;
  struct DefaultFactory {
    E operator()() const { return E(); }
  };

 public:
  // Drain's default: everything committed when each shard is visited.
  static constexpr std::size_t kDrainAll = std::numeric_limits<std::size_t>::max();

  // n consecutive slots of one shard, reserved together and made visible together by Commit.
  // Destroying it without Commit gives the slots back unpublished. Move-only; empty (false) when
  // the reservation failed. The slots may wrap around the end of the shard's ring, so they are
  // indexed, not one contiguous span.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept
        : shard_(std::exchange(other.shard_, nullptr)), tail_(other.tail_), size_(other.size_) {}
    Reservation& operator=(Reservation&& other) noexcept {
      shard_ = std::exchange(other.shard_, nullptr);
      tail_ = other.tail_;
      size_ = other.size_;
      return *this;
    }
    ~Reservation() = default;  // uncommitted slots are simply not published

    [[nodiscard]] explicit operator bool() const noexcept { return shard_ != nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return shard_ == nullptr ? 0 : size_; }

    // The i-th reserved slot. Requires: i < size().
    [[nodiscard]] E& operator[](std::size_t i) const noexcept {
      RINGCAST_DCHECK(i < size(), "Reservation index out of range");
      return shard_->slots->Get(static_cast<int64_t>(tail_ + i));
    }

    // Publishes every reserved slot at once. Requires: the reservation is not empty and no other
    // claim or reservation of the same producer was committed since it was taken.
    void Commit() noexcept {
      RINGCAST_DCHECK(shard_ != nullptr, "Commit of an empty reservation");
      RINGCAST_DCHECK(shard_->producer.tail.load(std::memory_order_relaxed) == tail_,
                      "the producer committed something else since this reservation");
      // Release; pairs with the acquire of tail in DrainShard: every slot's contents are visible.
      shard_->producer.tail.store(tail_ + size_, std::memory_order_release);
      CountCommitted(*shard_, size_);
      shard_ = nullptr;
    }

   private:
    friend class ShardedMpscChannel;
    Reservation(Shard* shard, uint64_t tail, std::size_t size)
        : shard_(shard), tail_(tail), size_(size) {}
    Shard* shard_ = nullptr;
    uint64_t tail_ = 0;
    std::size_t size_ = 0;
  };

  // A registered producer. Move-only; unregisters on destruction (committed events are still
  // delivered). Requires: no Reservation taken from it is still open when it is destroyed.
  class Producer {
   public:
    Producer(Producer&& other) noexcept : shard_(std::exchange(other.shard_, nullptr)) {}
    Producer& operator=(Producer&& other) noexcept {
      if (this != &other) {
        Close();
        shard_ = std::exchange(other.shard_, nullptr);
      }
      return *this;
    }
    ~Producer() { Close(); }

    // A slot to fill, or nullptr when this producer's shard is full. Call Commit to publish it.
    [[nodiscard]] E* TryClaim() noexcept {
      Shard& s = *shard_;
      const uint64_t tail = s.producer.tail.load(std::memory_order_relaxed);  // we wrote it
      if (!HasRoom(s, tail, 1)) return nullptr;
      return &s.slots->Get(static_cast<int64_t>(tail));
    }

    // Publishes the slot returned by the last TryClaim. Requires: TryClaim returned a slot.
    void Commit() noexcept {
      Shard& s = *shard_;
      const uint64_t tail = s.producer.tail.load(std::memory_order_relaxed);
      RINGCAST_DCHECK(tail - s.producer.head_cache < s.capacity, "Commit without a claimed slot");
      // Release; pairs with the acquire of tail in DrainShard: the slot contents are visible.
      s.producer.tail.store(tail + 1, std::memory_order_release);
      CountCommitted(s, 1);
    }

    // Reserves `n` consecutive slots if the shard has room for all of them now, else returns an
    // empty reservation and reserves nothing. n == 0 or n > shard capacity always fails.
    [[nodiscard]] Reservation TryReserve(std::size_t n) noexcept {
      Shard& s = *shard_;
      if (n == 0 || n > s.capacity) return Reservation();
      const uint64_t tail = s.producer.tail.load(std::memory_order_relaxed);  // we wrote it
      if (!HasRoom(s, tail, n)) return Reservation();
      return Reservation(&s, tail, n);
    }

    // Claims, fills with `fill(E&)` and commits; false (nothing written) when the shard is full.
    template <class F>
    [[nodiscard]] bool TryPublish(F&& fill) {
      E* slot = TryClaim();
      if (slot == nullptr) return false;
      fill(*slot);
      Commit();
      return true;
    }

    [[nodiscard]] std::size_t shard_index() const noexcept { return shard_->index; }

   private:
    friend class ShardedMpscChannel;
    explicit Producer(Shard* shard) : shard_(shard) {}

    // Whether n slots after `tail` are free; refreshes the cached head only when they seem not.
    static bool HasRoom(Shard& s, uint64_t tail, uint64_t n) noexcept {
      if (tail + n - s.producer.head_cache > s.capacity) {
        // Acquire; pairs with the release of head in DrainShard: the consumer is done with them.
        s.producer.head_cache = s.consumer.head.load(std::memory_order_acquire);
        if (tail + n - s.producer.head_cache > s.capacity) {
          CountFull(s);
          return false;
        }
      }
      return true;
    }

    void Close() noexcept {
      if (shard_ == nullptr) return;
      // Release; pairs with the acquire in Drain, which frees the shard once empty.
      shard_->state.store(kClosed, std::memory_order_release);
      shard_ = nullptr;
    }
    Shard* shard_;
  };

  // Up to `max_producers` producers at once, each with a shard of `shard_capacity` slots (a power
  // of two) built by `factory` when the shard is first used.
  template <class Factory = DefaultFactory>
  ShardedMpscChannel(std::size_t max_producers, int64_t shard_capacity, Factory factory = Factory())
      : max_producers_(max_producers),
        shard_capacity_(shard_capacity),
        factory_(std::move(factory)),
        shards_(new std::atomic<Shard*>[max_producers]) {
    RINGCAST_CHECK(max_producers >= 1, "need room for at least one producer");
    RINGCAST_CHECK(ValidateCapacity(shard_capacity).ok(), "shard capacity must be a power of two");
    for (std::size_t i = 0; i < max_producers_; ++i) {
      shards_[i].store(nullptr, std::memory_order_relaxed);
    }
  }
  template <class Factory = DefaultFactory>
  explicit ShardedMpscChannel(const ShardedMpscChannelOptions& options, Factory factory = Factory())
      : ShardedMpscChannel(options.max_producers, options.shard_capacity, std::move(factory)) {}

  ~ShardedMpscChannel() {
    for (std::size_t i = 0; i < max_producers_; ++i) {
      delete shards_[i].load(std::memory_order_relaxed);  // no thread uses the channel any more
    }
  }

  ShardedMpscChannel(const ShardedMpscChannel&) = delete;
  ShardedMpscChannel& operator=(const ShardedMpscChannel&) = delete;

  // A new producer handle on a free shard, allocating the shard's ring if it is the first use of
  // that shard; RESOURCE_EXHAUSTED when all max_producers shards are in use.
  absl::StatusOr<Producer> RegisterProducer() {
    if (Shard* shard = TakeFreeShard(); shard != nullptr) return Producer(shard);
    std::lock_guard<std::mutex> lock(grow_mutex_);
    // Relaxed: only registrations, serialized by the mutex, store the count.
    const std::size_t allocated = allocated_.load(std::memory_order_relaxed);
    if (allocated == max_producers_) {
      if (Shard* shard = TakeFreeShard(); shard != nullptr) return Producer(shard);
      return absl::ResourceExhaustedError(
          absl::StrCat("all ", max_producers_, " producer shards are in use"));
    }
    auto shard = std::make_unique<Shard>(allocated, shard_capacity_, factory_);
    shard->state.store(kActive, std::memory_order_relaxed);  // published by the stores below
    // Release; pairs with the acquire loads of the pointer in Drain and TakeFreeShard.
    shards_[allocated].store(shard.get(), std::memory_order_release);
    // Release; pairs with the acquire loads of the count in Drain, SizeGuess and TakeFreeShard.
    allocated_.store(allocated + 1, std::memory_order_release);
    return Producer(shard.release());
  }

  // Hands up to `max_events` committed events in total to `handler(E&)` and returns how many it
  // handed over. Shards are visited in turn, starting one further each call so that a busy first
  // shard cannot starve the others when the limit is small; within a shard events come in the
  // producer's order. Consumer thread only. If the handler throws, the events before the throwing
  // one are consumed and the exception propagates.
  template <class F>
  std::size_t Drain(F&& handler, std::size_t max_events = kDrainAll) {
    // Acquire; pairs with the release in RegisterProducer: every shard below it is built.
    const std::size_t shards = allocated_.load(std::memory_order_acquire);
    if (shards == 0) return 0;
    if (first_shard_ >= shards) first_shard_ = 0;
    std::size_t total = 0;
    for (std::size_t k = 0; k < shards && total < max_events; ++k) {
      std::size_t i = first_shard_ + k;
      if (i >= shards) i -= shards;
      Shard& s = *shards_[i].load(std::memory_order_acquire);     // pairs with RegisterProducer
      const int state = s.state.load(std::memory_order_acquire);  // pairs with Close / Register
      if (state == kFree) continue;
      total += DrainShard(s, handler, max_events - total);
      if (state == kClosed && s.consumer.head.load(std::memory_order_relaxed) ==
                                  s.producer.tail.load(std::memory_order_acquire)) {
        // Release; pairs with the acquire CAS in TakeFreeShard.
        s.state.store(kFree, std::memory_order_release);
      }
    }
    if (++first_shard_ == shards) first_shard_ = 0;
    return total;
  }

  // Committed events not yet drained; never more than the shards can hold. Exact on the consumer
  // thread when producers are idle, a snapshot elsewhere.
  [[nodiscard]] std::size_t SizeGuess() const noexcept {
    std::size_t size = 0;
    ForEachShard([&size](const Shard& s) {
      // Head first: the tail, read after it, can only be further on (the consumer never passes
      // the producer), so the difference is never negative. A reader delayed between the loads
      // can see more than a ring's worth; clamp it. Acquire; pairs with the releases of head in
      // DrainShard and of tail in Commit.
      const uint64_t head = s.consumer.head.load(std::memory_order_acquire);
      const uint64_t tail = s.producer.tail.load(std::memory_order_acquire);
      const uint64_t used = tail - head;
      size += static_cast<std::size_t>(used < s.capacity ? used : s.capacity);
    });
    return size;
  }

  // The counters, summed over the shards. Only for ShardedMpscChannel<E, ChannelCounters>.
  [[nodiscard]] ChannelStats Stats() const noexcept requires(Counters::kEnabled) {
    ChannelStats stats;
    ForEachShard([&stats](const Shard& s) {
      // Relaxed: statistics; each counter has one writer.
      stats.committed += s.producer.committed.load(std::memory_order_relaxed);
      stats.full += s.producer.full.load(std::memory_order_relaxed);
      stats.drained += s.consumer.drained.load(std::memory_order_relaxed);
      ++stats.allocated;
    });
    return stats;
  }

  [[nodiscard]] std::size_t max_producers() const noexcept { return max_producers_; }
  [[nodiscard]] int64_t shard_capacity() const noexcept { return shard_capacity_; }
  // Shards whose ring has been allocated so far.
  [[nodiscard]] std::size_t AllocatedShards() const noexcept {
    return allocated_.load(std::memory_order_acquire);  // pairs with RegisterProducer
  }

 private:
  enum : int { kFree, kActive, kClosed };

  struct Shard {
    template <class Factory>
    Shard(std::size_t i, int64_t capacity_in, Factory& factory)
        : index(i),
          capacity(static_cast<uint64_t>(capacity_in)),
          slots(std::make_unique<RingBuffer<E>>(capacity_in, factory)) {}

    // Written by the producer.
    struct alignas(kCacheLineSize) ProducerFields {
      std::atomic<uint64_t> tail{0};
      uint64_t head_cache = 0;             // consumer's head when last read; never ahead of it
      std::atomic<uint64_t> committed{0};  // ChannelCounters only
      std::atomic<uint64_t> full{0};       // ChannelCounters only
    } producer;
    // Written by the consumer.
    struct alignas(kCacheLineSize) ConsumerFields {
      std::atomic<uint64_t> head{0};
      uint64_t tail_cache = 0;           // producer's tail when last read; never ahead of it
      std::atomic<uint64_t> drained{0};  // ChannelCounters only
    } consumer;
    alignas(kCacheLineSize) std::atomic<int> state{kFree};
    const std::size_t index;
    const uint64_t capacity;
    std::unique_ptr<RingBuffer<E>> slots;
  };
  static_assert(sizeof(typename Shard::ProducerFields) == kCacheLineSize);
  static_assert(sizeof(typename Shard::ConsumerFields) == kCacheLineSize);
  static_assert(alignof(Shard) == kCacheLineSize);

  // One writer per counter, so a load and a store (relaxed: statistics) instead of an RMW.
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void CountCommitted(Shard& s, uint64_t n) noexcept {
    if constexpr (Counters::kEnabled) Bump(s.producer.committed, n);
  }
  static void CountFull(Shard& s) noexcept {
    if constexpr (Counters::kEnabled) Bump(s.producer.full, 1);
  }

  Shard* TakeFreeShard() noexcept {
    const std::size_t shards = allocated_.load(std::memory_order_acquire);  // see RegisterProducer
    for (std::size_t i = 0; i < shards; ++i) {
      Shard* shard = shards_[i].load(std::memory_order_acquire);  // pairs with RegisterProducer
      int expected = kFree;
      // Acq_rel; the acquire pairs with the consumer's release when it freed the shard.
      if (shard->state.compare_exchange_strong(expected, kActive, std::memory_order_acq_rel)) {
        return shard;
      }
    }
    return nullptr;
  }

  template <class F>
  void ForEachShard(F&& visit) const {
    const std::size_t shards = allocated_.load(std::memory_order_acquire);  // see RegisterProducer
    for (std::size_t i = 0; i < shards; ++i) {
      visit(*shards_[i].load(std::memory_order_acquire));  // pairs with RegisterProducer
    }
  }

  template <class F>
  static std::size_t DrainShard(Shard& s, F& handler, std::size_t max_events) {
    const uint64_t head = s.consumer.head.load(std::memory_order_relaxed);  // we wrote it
    if (s.consumer.tail_cache == head) {
      // Acquire; pairs with the release in Commit.
      s.consumer.tail_cache = s.producer.tail.load(std::memory_order_acquire);
      if (s.consumer.tail_cache == head) return 0;
    }
    uint64_t end = s.consumer.tail_cache;
    if (end - head > max_events) end = head + max_events;
    uint64_t next = head;
    struct Commit {  // frees the drained slots however the loop ends
      Shard& s;
      uint64_t head;
      uint64_t& next;
      ~Commit() {
        // Release; pairs with the acquire of head in HasRoom.
        s.consumer.head.store(next, std::memory_order_release);
        if constexpr (Counters::kEnabled) Bump(s.consumer.drained, next - head);
      }
    } commit{s, head, next};
    while (next < end) {
      std::invoke(handler, s.slots->Get(static_cast<int64_t>(next)));
      ++next;
    }
    return static_cast<std::size_t>(end - head);
  }

  const std::size_t max_producers_;
  const int64_t shard_capacity_;
  std::function<E()> factory_;
  std::unique_ptr<std::atomic<Shard*>[]> shards_;
  std::atomic<std::size_t> allocated_{0};
  std::mutex grow_mutex_;
  std::size_t first_shard_ = 0;  // consumer thread only
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_SHARDED_MPSC_CHANNEL_H_
