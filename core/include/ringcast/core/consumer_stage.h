// ConsumerStage: one consumer of a ring, written once, run either on a thread of its own
// (BatchEventProcessor) or as a step of an agent's duty cycle (DoWork, under an AgentRunner).
//
// A stage is its sequence (the last event it finished: downstream stages and producers gate on
// it), a barrier over the producers' cursor or its upstream stages, and a handler of one of two
// kinds:
//
//   EventHandler<H, E>  void OnEvent(E& event, int64_t sequence, bool end_of_batch);
//   BatchHandler<H>     int64_t OnBatch(int64_t first, int64_t last);
//                       handles a run of events (first <= last), reading the slots itself, and
//                       returns the last sequence it finished, first - 1 .. last; what it did not
//                       finish is offered again on the next step. A stage that must hold
//                       producers back (a full outbound queue, a write in progress) returns
//                       less than `last` instead of waiting.
//
// Optional hooks (see event_handler.h): OnStart, OnShutdown, OnBatchStart, OnTimeout.
//
// Errors: an exception thrown by the handler is caught here, counted and reported. With
// ErrorPolicy::kLogAndContinue the event (for a BatchHandler, the whole run offered) counts as
// processed; with kHalt the stage stops before it for good (halted() turns true and DoWork does
// nothing more).
//
// Thread safety: DoWork, Process and the Notify hooks on the one thread that runs the stage at a
// time (a runner hands it over only through a happens-before edge, such as a thread start or a
// mutex); sequence(), halted() and ExceptionCount() from any thread.
//
// Memory ordering: the sequence store after each batch is a release; pairs with the acquire loads
// of downstream barriers and of the producers' gating minimum. The barrier's reads are acquires
// (see sequence_barrier.h), so every slot up to what it releases is fully written.
#ifndef RINGCAST_CORE_CONSUMER_STAGE_H_
#define RINGCAST_CORE_CONSUMER_STAGE_H_

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ringcast/core/check.h"
#include "ringcast/core/event_handler.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/sequence_barrier.h"

namespace ringcast {

enum class ErrorPolicy : uint8_t {
  kLogAndContinue,  // report, count, skip the event, keep going
  kHalt,            // report, count, stop the stage
};

// Called on the stage's thread for each exception a handler throws.
using ExceptionReporter =
    std::function<void(const std::string& processor, int64_t sequence, std::exception_ptr error)>;

// Writes "ringcast: handler <name> threw at sequence <n>: <what>" to stderr.
void LogHandlerException(const std::string& processor, int64_t sequence, std::exception_ptr error);

// The what() of the exception `error` holds, or "unknown exception" for one that is not a
// std::exception (or no exception at all).
std::string DescribeException(const std::exception_ptr& error);

struct ProcessorOptions {
  std::string name = "processor";
  // Most events handed over between two sequence updates: bounds how long downstream stages and
  // producers wait for slots when a huge backlog is processed.
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  ErrorPolicy error_policy = ErrorPolicy::kLogAndContinue;
  ExceptionReporter report_exception = LogHandlerException;
};

template <class H>
concept BatchHandler = requires(H& h, int64_t first, int64_t last) {
  { h.OnBatch(first, last) } -> std::same_as<int64_t>;
};

template <class H, class E>
concept StageHandler = EventHandler<H, E> || BatchHandler<H>;

template <class E, class Handler, Sequencer S>
requires StageHandler<Handler, E>
class ConsumerStage {
 public:
  ConsumerStage(RingBuffer<E>& ring, S& sequencer, std::vector<const Sequence*> upstream,
                Handler& handler, ProcessorOptions options = {})
      : ring_(ring),
        barrier_(sequencer, std::move(upstream)),
        handler_(handler),
        options_(std::move(options)) {
    RINGCAST_CHECK(options_.max_batch_size >= 1, "max_batch_size must be at least 1");
  }

  ConsumerStage(const ConsumerStage&) = delete;
  ConsumerStage& operator=(const ConsumerStage&) = delete;

  // One step of a duty cycle: handles what the barrier releases now, without waiting. Returns the
  // number of events finished (0 if none were available, or the stage is halted).
  int DoWork() {
    if (halted()) return 0;
    const int64_t next = sequence_.GetRelaxed() + 1;
    const int64_t available = barrier_.Available(next);
    if (available < next) return 0;
    const int64_t before = sequence_.GetRelaxed();
    Process(available);
    return static_cast<int>(std::min<int64_t>(sequence_.GetRelaxed() - before, INT32_MAX));
  }

  // Handles events from the next one up to `available` (at most max_batch_size of them), which
  // the barrier released. False once the stage is halted.
  bool Process(int64_t available) {
    int64_t next = sequence_.GetRelaxed() + 1;
    const int64_t end = Cap(next, available);
    if constexpr (HasOnBatchStart<Handler>) {
      handler_.OnBatchStart(end - next + 1, available - next + 1);
    }
    if constexpr (EventHandler<Handler, E>) {
      try {
        for (; next <= end; ++next) handler_.OnEvent(ring_.Get(next), next, next == end);
      } catch (...) {
        return Fail(next, next);
      }
      Publish(end);
    } else {
      int64_t done;
      try {
        done = handler_.OnBatch(next, end);
      } catch (...) {
        return Fail(next, end);
      }
      RINGCAST_DCHECK(done >= next - 1 && done <= end, "OnBatch returns first - 1 .. last");
      if (done >= next) Publish(done);
    }
    return true;
  }

  void NotifyStart() {
    if constexpr (HasOnStart<Handler>) Guard([&] { handler_.OnStart(); });
  }
  void NotifyShutdown() {
    if constexpr (HasOnShutdown<Handler>) Guard([&] { handler_.OnShutdown(); });
  }
  void NotifyTimeout() {
    if constexpr (HasOnTimeout<Handler>) {
      Guard([&] { handler_.OnTimeout(sequence_.GetRelaxed()); });
    }
  }

  // This stage's progress: the last sequence it finished. Downstream stages and producers gate on
  // it.
  [[nodiscard]] Sequence& sequence() noexcept { return sequence_; }
  [[nodiscard]] const Sequence& sequence() const noexcept { return sequence_; }
  [[nodiscard]] SequenceBarrier<S>& barrier() noexcept { return barrier_; }
  [[nodiscard]] const ProcessorOptions& options() const noexcept { return options_; }

  // True once an exception under ErrorPolicy::kHalt stopped the stage. Acquire; pairs with the
  // release in Fail.
  [[nodiscard]] bool halted() const noexcept { return halted_.load(std::memory_order_acquire); }

  // Exceptions the handler threw so far. Relaxed: a statistic.
  [[nodiscard]] uint64_t ExceptionCount() const noexcept {
    return exceptions_.load(std::memory_order_relaxed);
  }

 private:
  [[nodiscard]] int64_t Cap(int64_t next, int64_t available) const noexcept {
    return available - next >= options_.max_batch_size ? next + options_.max_batch_size - 1
                                                       : available;
  }

  // The handler threw while handling `failed` (a run ending at `last`). Under kLogAndContinue
  // everything through `last` counts as processed; under kHalt the stage stops before `failed`.
  bool Fail(int64_t failed, int64_t last) {
    exceptions_.fetch_add(1, std::memory_order_relaxed);
    options_.report_exception(options_.name, failed, std::current_exception());
    if (options_.error_policy == ErrorPolicy::kHalt) {
      Publish(failed - 1);
      halted_.store(true, std::memory_order_release);  // pairs with the acquire in halted()
      return false;
    }
    Publish(last);
    return true;
  }

  void Publish(int64_t sequence) noexcept {
    sequence_.Set(sequence);  // release; pairs with downstream barriers and the producers
    barrier_.SignalAllWhenBlocking();
  }

  // Lifecycle hooks report their exceptions but never stop the stage.
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
  std::atomic<bool> halted_{false};
  std::atomic<uint64_t> exceptions_{0};
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_CONSUMER_STAGE_H_
