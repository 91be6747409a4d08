// Doorbell: tells an agent that there may be work, through the wait strategy it idles with.
//
// An agent runner idles by waiting, with one of the core's wait strategies, for the doorbell's
// epoch to pass the value it read before its last duty cycle. Whoever makes work for the agent (a
// producer publishing, a consumer freeing room, a registration) rings: the epoch moves and the
// strategy's waiters are signalled. A ring between the agent's epoch read and its park is never
// lost: the epoch has already moved, so the wait returns at once.
//
// Thread safety: Ring from any thread; Epoch and Available from any thread (the owning runner
// waits on them).
//
// Memory ordering: Ring's increment is a release RMW followed by the strategy's
// SignalAllWhenBlocking (a seq_cst fence, then a load of the waiter count, for Blocking); the
// waiter announces itself, fences, then reads the epoch with acquire (Blocking::WaitUntil). One
// side sees the other, so no wake-up is lost. Whatever the ringer wrote before Ring (a published
// slot, a freed queue) happens-before the agent's next duty cycle, through the release increment
// and the acquire load of the epoch.
#ifndef RINGCAST_CORE_DOORBELL_H_
#define RINGCAST_CORE_DOORBELL_H_

#include <atomic>
#include <cstdint>

#include "ringcast/core/sequence.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast {

class Doorbell {
 public:
  // A doorbell whose ring wakes the waiters of `strategy` (which must outlive it).
  template <WaitStrategy W>
  explicit Doorbell(W& strategy) noexcept
      : signal_([](void* s) noexcept { static_cast<W*>(s)->SignalAllWhenBlocking(); }),
        strategy_(&strategy) {}

  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Take before looking for work; wait for Epoch() + 1 so a ring in between is not missed.
  [[nodiscard]] int64_t Epoch() const noexcept { return epoch_.Get(); }

  // Cheap when nobody is parked: one RMW, a fence and a load.
  void Ring() noexcept {
    // Acq_rel RMW (release half pairs with the acquire in Epoch/Available): concurrent rings
    // each move the epoch, so none is lost.
    static_cast<void>(epoch_.AddAndGet(1));
    signal_(strategy_);
  }

  // The Dependents view wait strategies wait on: the current epoch.
  [[nodiscard]] int64_t Available(int64_t /*from*/) const noexcept { return epoch_.Get(); }

 private:
  Sequence epoch_{0};
  void (*const signal_)(void*) noexcept;
  void* const strategy_;
};

static_assert(Dependents<Doorbell>);

}  // namespace ringcast

#endif  // RINGCAST_CORE_DOORBELL_H_
