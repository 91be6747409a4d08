// BatchEventProcessor: runs one EventHandler over the ring on the calling thread, in batches.
//
// Each time it wakes it takes every event its barrier releases (up to max_batch_size), hands them
// to the handler with `end_of_batch` set on the last, then advances its sequence once (a release
// store), which frees the slots for downstream stages and producers.
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
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <utility>

#include "ringcast/core/check.h"
#include "ringcast/core/event_handler.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence_barrier.h"

namespace ringcast {

enum class ErrorPolicy : uint8_t {
  kLogAndContinue,  // report, count, skip the event, keep going
  kHalt,            // report, count, stop the processor
};

// Called on the processor thread for each exception a handler throws.
using ExceptionReporter =
    std::function<void(const std::string& processor, int64_t sequence, std::exception_ptr error)>;

// Writes "ringcast: handler <name> threw at sequence <n>: <what>" to stderr.
void LogHandlerException(const std::string& processor, int64_t sequence, std::exception_ptr error);

struct ProcessorOptions {
  std::string name = "processor";
  // Most events handed over between two sequence updates: bounds how long downstream stages and
  // producers wait for slots when a huge backlog is processed.
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  ErrorPolicy error_policy = ErrorPolicy::kLogAndContinue;
  ExceptionReporter report_exception = LogHandlerException;
};

template <class E, class Handler, Sequencer S>
requires EventHandler<Handler, E>
class BatchEventProcessor {
 public:
  BatchEventProcessor(RingBuffer<E>& ring, S& sequencer, std::vector<const Sequence*> upstream,
                      Handler& handler, ProcessorOptions options = {})
      : ring_(ring),
        barrier_(sequencer, std::move(upstream)),
        handler_(handler),
        options_(std::move(options)) {
    RINGCAST_CHECK(options_.max_batch_size >= 1, "max_batch_size must be at least 1");
  }

  BatchEventProcessor(const BatchEventProcessor&) = delete;
  BatchEventProcessor& operator=(const BatchEventProcessor&) = delete;

  // Processes events until halted. Blocks the calling thread.
  void Run() {
    // Cleared before the state moves to running, never after: a Halt that lands right after the
    // CAS must not have its alert erased, or the processor parks forever. Halt's exchange reads
    // the CAS's value, so this store happens before Halt's Alert.
    barrier_.ClearAlert();
    int expected = kIdle;
    if (!state_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) {
      RINGCAST_CHECK(expected != kRunning, "BatchEventProcessor::Run called while running");
      // Halted before it ran: honour the halt, still pair the lifecycle hooks.
      NotifyStart();
      NotifyShutdown();
      state_.store(kIdle, std::memory_order_release);
      return;
    }
    NotifyStart();
    // Acquire; pairs with the exchange in Halt (a halt between the CAS and here).
    if (state_.load(std::memory_order_acquire) == kRunning) ProcessEvents();
    NotifyShutdown();
    state_.store(kIdle, std::memory_order_release);
  }

  // Stops Run after the batch in hand; safe before Run, during it, or after.
  void Halt() noexcept {
    // Acq_rel exchange: reads the value Run's CAS wrote (or a later one), so Run's ClearAlert
    // happens before the Alert below; the release pairs with the acquire loads in Run.
    state_.exchange(kHalted, std::memory_order_acq_rel);
    barrier_.Alert();
  }

  [[nodiscard]] bool IsRunning() const noexcept {
    return state_.load(std::memory_order_acquire) == kRunning;
  }

  // This stage's progress: the last sequence it finished. Downstream stages and producers gate on
  // it.
  [[nodiscard]] Sequence& sequence() noexcept { return sequence_; }
  [[nodiscard]] const Sequence& sequence() const noexcept { return sequence_; }
  [[nodiscard]] SequenceBarrier<S>& barrier() noexcept { return barrier_; }
  [[nodiscard]] const ProcessorOptions& options() const noexcept { return options_; }

  // Exceptions the handler threw so far. Relaxed: a statistic.
  [[nodiscard]] uint64_t ExceptionCount() const noexcept {
    return exceptions_.load(std::memory_order_relaxed);
  }

 private:
  enum State : int { kIdle, kHalted, kRunning };

  void ProcessEvents() {
    int64_t next = sequence_.GetRelaxed() + 1;
    for (;;) {
      const WaitResult result = barrier_.WaitFor(next);
      if (result.status == WaitStatus::kAlerted) {
        if (state_.load(std::memory_order_acquire) != kRunning) return;
        continue;
      }
      if (result.status == WaitStatus::kTimedOut) {
        NotifyTimeout(next - 1);
        continue;
      }
      int64_t end = result.available;
      if (end - next >= options_.max_batch_size) end = next + options_.max_batch_size - 1;
      if constexpr (HasOnBatchStart<Handler>) {
        handler_.OnBatchStart(end - next + 1, result.available - next + 1);
      }
      if (!HandleBatch(next, end)) return;
    }
  }

  // Runs [next, end] through the handler and publishes progress. Advances `next`. False when the
  // processor must stop (an exception under kHalt).
  bool HandleBatch(int64_t& next, int64_t end) {
    try {
      for (; next <= end; ++next) handler_.OnEvent(ring_.Get(next), next, next == end);
    } catch (...) {
      exceptions_.fetch_add(1, std::memory_order_relaxed);
      options_.report_exception(options_.name, next, std::current_exception());
      if (options_.error_policy == ErrorPolicy::kHalt) {
        Publish(next - 1);
        state_.store(kHalted, std::memory_order_release);
        return false;
      }
      Publish(next);
      ++next;
      return true;
    }
    Publish(end);
    return true;
  }

  void Publish(int64_t sequence) noexcept {
    sequence_.Set(sequence);  // release; pairs with downstream barriers and the producers
    barrier_.SignalAllWhenBlocking();
  }

  void NotifyStart() {
    if constexpr (HasOnStart<Handler>) Guard([&] { handler_.OnStart(); });
  }
  void NotifyShutdown() {
    if constexpr (HasOnShutdown<Handler>) Guard([&] { handler_.OnShutdown(); });
  }
  void NotifyTimeout(int64_t sequence) {
    if constexpr (HasOnTimeout<Handler>) Guard([&] { handler_.OnTimeout(sequence); });
  }
  // Lifecycle hooks report their exceptions but never take the processor down.
  template <class F>
  void Guard(F&& hook) {
    try {
      hook();
    } catch (...) {
      exceptions_.fetch_add(1, std::memory_order_relaxed);
      options_.report_exception(options_.name, sequence_.GetRelaxed(), std::current_exception());
    }
  }

  Sequence sequence_;
  RingBuffer<E>& ring_;
  SequenceBarrier<S> barrier_;
  Handler& handler_;
  ProcessorOptions options_;
  std::atomic<int> state_{kIdle};
  std::atomic<uint64_t> exceptions_{0};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_BATCH_EVENT_PROCESSOR_H_
