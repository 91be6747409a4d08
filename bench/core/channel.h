// Channel<Q, Mode>: a peer queue plus the waiting the run's wait mode asks for (peer_wait.h).
//
// Thread safety: Push from the producer thread that owns `producer`; Consume from the one
// consumer thread.
#ifndef RINGCAST_BENCH_CORE_CHANNEL_H_
#define RINGCAST_BENCH_CORE_CHANNEL_H_

#include <cstddef>
#include <cstdint>

#include "bench/core/peer_queues.h"
#include "bench/core/peer_wait.h"
#include "bench/core/wait_mode.h"

namespace ringcast::bench {

template <PeerQueue Q, class Mode>
class Channel {
 public:
  using Event = typename Q::Event;

  Channel(int producers, std::size_t capacity) : queue_(producers, capacity) {}

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Appends `items[0, n)`, idling through Mode::ProducerWait while the queue is full.
  void Push(int producer, const Event* items, std::size_t n) {
    if constexpr (kQueueSleeps && Mode::kMode == WaitMode::kBlocking) {
      queue_.PushBlocking(producer, items, n);
    } else {
      typename Mode::ProducerWait wait;
      for (uint32_t i = 0; n != 0;) {
        const std::size_t pushed = queue_.TryPush(producer, items, n);
        if (pushed == 0) {
          wait.Idle(i++);
          continue;
        }
        items += pushed;
        n -= pushed;
      }
      if constexpr (kParks) parker_.NotifyAll();
    }
  }
  void Push(int producer, const Event& event) { Push(producer, &event, 1); }

  // Hands between 1 and `max` events to `handle(Event&)`, waiting as Mode says while the queue is
  // empty. Returns how many.
  template <class F>
  std::size_t Consume(F&& handle, std::size_t max = kPopBuffer) {
    auto poll = [&] { return queue_.TryConsume(handle, max); };
    if constexpr (kQueueSleeps) {
      return PollUntilSome<Mode>(poll, [&] { return queue_.PopBlocking(handle, max); });
    } else {
      return PollUntilSome<Mode>(poll, [&] { return ParkUntilSome(parker_, poll); });
    }
  }

 private:
  // Queues with their own condition variables sleep on them; the others on `parker_`, which
  // producers then have to signal (only the modes that ever park pay for that).
  static constexpr bool kQueueSleeps = HasBlockingCalls<Q>;
  static constexpr bool kParks =
      !kQueueSleeps && (Mode::kMode == WaitMode::kBlocking || Mode::kMode == WaitMode::kPhased);

  Q queue_;
  EventCount parker_;
};

}  // namespace ringcast::bench

#endif  // RINGCAST_BENCH_CORE_CHANNEL_H_
