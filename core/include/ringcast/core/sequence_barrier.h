// SequenceBarrier: where a consumer waits until the events it wants are published and every
// upstream stage has finished with them.
//
// Thread safety: WaitFor belongs to the one consumer that owns the barrier. Alert, ClearAlert and
// IsAlerted are safe from any thread (Alert is how another thread halts the consumer).
//
// Memory ordering: WaitFor returns only sequences that the wait strategy read with acquire from
// the cursor or the upstream sequences and, for a first stage of multiple producers, whose slots
// IsAvailable read with acquire (pairing with the release in Publish); so the slot contents are
// visible. Alert is a release store; pairs with the
// acquire load in the wait loops (internal::IsAlerted).
#ifndef RINGCAST_CORE_SEQUENCE_BARRIER_H_
#define RINGCAST_CORE_SEQUENCE_BARRIER_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "ringcast/core/sequencer.h"
#include "ringcast/core/wait_strategy.h"

namespace ringcast {

template <Sequencer S>
class SequenceBarrier {
 public:
  // Waits on the cursor of `sequencer` and, when `upstream` is not empty, on those stages too.
  SequenceBarrier(S& sequencer, std::vector<const Sequence*> upstream = {})
      : sequencer_(&sequencer), dependents_(sequencer.cursor_sequence(), std::move(upstream)) {}

  SequenceBarrier(const SequenceBarrier&) = delete;
  SequenceBarrier& operator=(const SequenceBarrier&) = delete;

  // Waits until `sequence` can be read and returns the highest sequence that may be read (at
  // least `sequence`), or kAlerted / kTimedOut with what was reached. Never throws.
  [[nodiscard]] WaitResult WaitFor(int64_t sequence) {
    if (internal::IsAlerted(alerted_)) return {sequence - 1, WaitStatus::kAlerted};
    return sequencer_->wait_strategy().WaitFor(sequence, view_, alerted_);
  }

  // The highest sequence this barrier would release now, without waiting.
  [[nodiscard]] int64_t Available(int64_t from) const noexcept { return view_.Available(from); }

  [[nodiscard]] int64_t Cursor() const noexcept { return dependents_.Get(); }

  // Wakes the owning consumer out of WaitFor with kAlerted until ClearAlert.
  void Alert() noexcept {
    alerted_.store(true, std::memory_order_release);  // pairs with internal::IsAlerted
    sequencer_->wait_strategy().SignalAllWhenBlocking();
  }
  void ClearAlert() noexcept { alerted_.store(false, std::memory_order_release); }
  [[nodiscard]] bool IsAlerted() const noexcept { return internal::IsAlerted(alerted_); }

  // Wakes consumers blocked on this barrier's wait strategy: a stage calls it after it advances
  // its own sequence, so blocked downstream stages and producers notice.
  void SignalAllWhenBlocking() noexcept { sequencer_->wait_strategy().SignalAllWhenBlocking(); }

  [[nodiscard]] S& sequencer() const noexcept { return *sequencer_; }
  [[nodiscard]] const DependentSequences& dependents() const noexcept { return dependents_; }

 private:
  // What the wait strategy waits on. A first stage of a multi-producer ring must also wait for the
  // claimed slot to be published: the cursor counts claims. Waiting for that inside the strategy
  // (rather than spinning in the caller) lets Blocking park until the producer's Publish signals,
  // even if that producer was preempted between claim and publish. Stages behind other stages
  // need no check: an upstream stage only ever advances past published events.
  class View {
   public:
    View(const S& sequencer, const DependentSequences& dependents)
        : sequencer_(sequencer), dependents_(dependents) {}
    [[nodiscard]] int64_t Available(int64_t from) const noexcept {
      const int64_t available = dependents_.Get();
      if (available < from || !dependents_.upstream().empty()) return available;
      return sequencer_.HighestPublishedSequence(from, available);
    }

   private:
    const S& sequencer_;
    const DependentSequences& dependents_;
  };

  S* sequencer_;
  DependentSequences dependents_;
  View view_{*sequencer_, dependents_};
  std::atomic<bool> alerted_{false};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_SEQUENCE_BARRIER_H_
