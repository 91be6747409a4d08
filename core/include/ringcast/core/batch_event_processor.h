// BatchEventProcessor: runs one ConsumerStage on a thread of its own (the calling thread of Run),
// waiting on its barrier with the sequencer's wait strategy between batches.
//
// Each time it wakes it takes every event its barrier releases (up to max_batch_size), hands them
// to the handler (see consumer_stage.h for the two handler kinds), then advances its sequence once
// (a release store), which frees the slots for downstream stages and producers. The same stage
// can instead run as a step of an agent's duty cycle, sharing a thread with others
// (agent_runner.h).
//
// Lifecycle: idle -> running -> idle. Run() moves idle to running and returns when halted;
// Halt() may come before Run() starts, and Run() then returns at once (calling OnStart and
// OnShutdown), so a halt is never lost. Run() on a processor already running aborts: it is a
// programmer error with no safe recovery.
//
// Errors: an exception thrown by the handler is caught at the loop boundary. With
// ErrorPolicy::kLogAndContinue it is reported, counted, and the event is treated as processed;
// with kHalt it is reported, counted, the event stays unprocessed and the processor halts.
//
// Thread safety: Run on one thread; Halt, IsRunning, sequence() and ExceptionCount from any.
//
// Memory ordering: the sequence store after a batch is a release; pairs with the acquire loads of
// downstream barriers and of the producers' gating check. The lifecycle state is acq_rel so that
// Halt's store is seen by the loop's acquire load after the barrier alert wakes it.
#ifndef RINGCAST_CORE_BATCH_EVENT_PROCESSOR_H_
#define RINGCAST_CORE_BATCH_EVENT_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "ringcast/core/check.h"
#include "ringcast/core/consumer_stage.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence_barrier.h"

namespace ringcast {

template <class E, class Handler, Sequencer S>
requires StageHandler<Handler, E>
class BatchEventProcessor {
 public:
  BatchEventProcessor(RingBuffer<E>& ring, S& sequencer, std::vector<const Sequence*> upstream,
                      Handler& handler, ProcessorOptions options = {})
      : stage_(ring, sequencer, std::move(upstream), handler, std::move(options)) {}

  BatchEventProcessor(const BatchEventProcessor&) = delete;
  BatchEventProcessor& operator=(const BatchEventProcessor&) = delete;

  // Processes events until halted. Blocks the calling thread.
  void Run() {
    // Cleared before the state moves to running, never after: a Halt that lands right after the
    // CAS must not have its alert erased, or the processor parks forever. Halt's exchange reads
    // the CAS's value, so this store happens before Halt's Alert.
    barrier().ClearAlert();
    int expected = kIdle;
    if (!state_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) {
      RINGCAST_CHECK(expected != kRunning, "BatchEventProcessor::Run called while running");
      // Halted before it ran: honour the halt, still pair the lifecycle hooks.
      stage_.NotifyStart();
      stage_.NotifyShutdown();
      state_.store(kIdle, std::memory_order_release);
      return;
    }
    stage_.NotifyStart();
    // Acquire; pairs with the exchange in Halt (a halt between the CAS and here).
    if (state_.load(std::memory_order_acquire) == kRunning) ProcessEvents();
    stage_.NotifyShutdown();
    state_.store(kIdle, std::memory_order_release);
  }

  // Stops Run after the batch in hand; safe before Run, during it, or after.
  void Halt() noexcept {
    // Acq_rel exchange: reads the value Run's CAS wrote (or a later one), so Run's ClearAlert
    // happens before the Alert below; the release pairs with the acquire loads in Run.
    state_.exchange(kHalted, std::memory_order_acq_rel);
    barrier().Alert();
  }

  [[nodiscard]] bool IsRunning() const noexcept {
    return state_.load(std::memory_order_acquire) == kRunning;
  }

  // This stage's progress: the last sequence it finished. Downstream stages and producers gate on
  // it.
  [[nodiscard]] Sequence& sequence() noexcept { return stage_.sequence(); }
  [[nodiscard]] const Sequence& sequence() const noexcept { return stage_.sequence(); }
  [[nodiscard]] SequenceBarrier<S>& barrier() noexcept { return stage_.barrier(); }
  [[nodiscard]] const ProcessorOptions& options() const noexcept { return stage_.options(); }
  // The stage this processor runs; the same stage could run as a step of an agent instead.
  [[nodiscard]] ConsumerStage<E, Handler, S>& stage() noexcept { return stage_; }

  // Exceptions the handler threw so far. Relaxed: a statistic.
  [[nodiscard]] uint64_t ExceptionCount() const noexcept { return stage_.ExceptionCount(); }

 private:
  enum State : int { kIdle, kHalted, kRunning };

  void ProcessEvents() {
    for (;;) {
      const int64_t next = stage_.sequence().GetRelaxed() + 1;
      const WaitResult result = barrier().WaitFor(next);
      if (result.status == WaitStatus::kAlerted) {
        if (state_.load(std::memory_order_acquire) != kRunning) return;
        continue;
      }
      if (result.status == WaitStatus::kTimedOut) {
        stage_.NotifyTimeout();
        continue;
      }
      if (!stage_.Process(result.available)) {
        state_.store(kHalted, std::memory_order_release);
        return;
      }
    }
  }

  ConsumerStage<E, Handler, S> stage_;
  std::atomic<int> state_{kIdle};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_BATCH_EVENT_PROCESSOR_H_
