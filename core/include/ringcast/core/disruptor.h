// Disruptor<E>: the DSL that wires a ring, a sequencer and processor threads into a topology.
//
//   Disruptor<Trade> d(1024);
//   d.HandleEventsWith(journal, replicate)   // multicast: both see every event
//    .Then(apply);                           // pipeline: apply sees an event after both
//   d.After(journal).HandleEventsWith(audit);  // diamond branch: audit runs after journal only
//   d.Start();
//   d.Publish([](Trade& t, int64_t seq) { t.id = seq; });
//   absl::Status drained = d.Shutdown(absl::Seconds(5));  // drain, then halt
//
// Handlers are owned by the caller and must outlive the disruptor. Pass `Stage(handler, options)`
// instead of a handler to name its thread, pin it to a CPU, bound its batches or choose its error
// policy. Each handler gets one thread.
//
// Thread safety: building the topology (HandleEventsWith, After, Then), Start, Shutdown and Halt
// belong to one controlling thread. Publish/TryPublish/PublishBatch follow the sequencer: any
// thread for MultiProducerSequencer, one thread for SingleProducerSequencer. Introspection
// (Cursor, Occupancy, BackpressureRatio) is safe from any thread.
#ifndef RINGCAST_CORE_DISRUPTOR_H_
#define RINGCAST_CORE_DISRUPTOR_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringcast/core/batch_event_processor.h"
#include "ringcast/core/check.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/thread.h"

namespace ringcast {

struct StageOptions {
  std::string name;  // thread name; "stage-<n>" when empty
  int cpu = -1;      // pin the thread to this CPU; -1 leaves it to the scheduler
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  ErrorPolicy error_policy = ErrorPolicy::kLogAndContinue;
  ExceptionReporter report_exception = LogHandlerException;
};

template <class H>
struct StageSpec {
  H* handler;
  StageOptions options;
};

// A handler with options, for HandleEventsWith and Then.
template <class H>
StageSpec<H> Stage(H& handler, StageOptions options = {}) {
  return StageSpec<H>{&handler, std::move(options)};
}

template <class E, Sequencer S = MultiProducerSequencer<Blocking>>
class Disruptor {
  template <class T>
  struct IsStageSpec : std::false_type {};
  template <class H>
  struct IsStageSpec<StageSpec<H>> : std::true_type {};
  struct DefaultFactory {
    E operator()() const { return E(); }
  };

 public:
  using SequencerType = S;
  using WaitStrategyType = typename S::WaitStrategyType;

  // A set of stages that later stages can be made to follow.
  class HandlerGroup {
   public:
    // Stages that see each event after every stage of this group finished it.
    template <class... Stages>
    HandlerGroup Then(Stages&&... stages) {
      return disruptor_->AddStages(processors_, std::forward<Stages>(stages)...);
    }
    template <class... Stages>
    HandlerGroup HandleEventsWith(Stages&&... stages) {
      return Then(std::forward<Stages>(stages)...);
    }
    [[nodiscard]] const std::vector<std::size_t>& processors() const noexcept {
      return processors_;
    }

   private:
    friend class Disruptor;
    HandlerGroup(Disruptor* d, std::vector<std::size_t> processors)
        : disruptor_(d), processors_(std::move(processors)) {}
    Disruptor* disruptor_;
    std::vector<std::size_t> processors_;
  };

  // Requires: capacity is a power of two (checked; use ValidateCapacity to test first).
  template <class Factory = DefaultFactory>
  explicit Disruptor(int64_t capacity, Factory&& factory = Factory(),
                     WaitStrategyType wait_strategy = WaitStrategyType(),
                     const SequencerOptions& options = {})
      : ring_(capacity, std::forward<Factory>(factory)),
        sequencer_(capacity, std::move(wait_strategy), options) {}

  ~Disruptor() { Halt(); }

  Disruptor(const Disruptor&) = delete;
  Disruptor& operator=(const Disruptor&) = delete;

  // First stages: each sees every published event (multicast).
  template <class... Stages>
  HandlerGroup HandleEventsWith(Stages&&... stages) {
    return AddStages({}, std::forward<Stages>(stages)...);
  }

  // The group of already registered handlers, to make new stages follow them.
  template <class... Handlers>
  HandlerGroup After(Handlers&... handlers) {
    std::vector<std::size_t> ids;
    (ids.push_back(ProcessorOf(&handlers)), ...);
    return HandlerGroup(this, std::move(ids));
  }

  // Starts one thread per stage. FAILED_PRECONDITION if already started or no stage exists.
  absl::Status Start() {
    if (started_) return absl::FailedPreconditionError("disruptor already started");
    if (stages_.empty()) return absl::FailedPreconditionError("disruptor has no stages");
    started_ = true;
    for (auto& stage : stages_) {
      threads_.emplace_back([s = stage.get()] {
        SetCurrentThreadName(s->options.name);
        if (s->options.cpu >= 0) {
          if (absl::Status pinned = PinCurrentThreadToCpu(s->options.cpu); !pinned.ok()) {
            std::fprintf(stderr, "ringcast: stage %s not pinned: %s\n", s->options.name.c_str(),
                         pinned.ToString().c_str());
          }
        }
        s->Run();
      });
    }
    return absl::OkStatus();
  }

  // Waits until every stage processed everything claimed so far, then halts and joins the
  // threads. DEADLINE_EXCEEDED if that takes longer than `timeout`: the stages are halted all
  // the same (events not yet processed stay in the ring). Producers must have stopped.
  // A stage notices a halt between batches, so after a timeout the join can take as long as the
  // batch in hand: bound it with StageOptions::max_batch_size when that matters. A handler that
  // never returns from OnEvent cannot be interrupted.
  absl::Status Shutdown(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::chrono::microseconds pause(1);
    int64_t backlog;
    while ((backlog = Backlog()) > 0) {
      if (absl::Now() >= deadline) {
        Halt();
        return absl::DeadlineExceededError(
            absl::StrCat("disruptor shutdown timed out after ", absl::FormatDuration(timeout),
                         " with ", backlog, " events not processed by the slowest stage"));
      }
      std::this_thread::sleep_for(pause);
      if (pause < std::chrono::milliseconds(1)) pause *= 2;
    }
    Halt();
    return absl::OkStatus();
  }

  // Stops every stage after the batch in hand and joins the threads; does not drain. Idempotent.
  void Halt() {
    for (auto& stage : stages_) stage->Halt();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  // Claims a slot, lets `fill(E&, int64_t sequence)` write it and publishes it. Waits while the
  // ring is full. If `fill` throws the slot is published anyway (consumers must not stall on it).
  template <class F>
  int64_t Publish(F&& fill) {
    const int64_t sequence = sequencer_.Next(1);
    PublishGuard guard{sequencer_, sequence, sequence};
    fill(ring_.Get(sequence), sequence);
    return sequence;
  }

  // As Publish, but returns false at once when the ring is full.
  template <class F>
  [[nodiscard]] bool TryPublish(F&& fill) {
    const ClaimResult claim = sequencer_.TryNext(1);
    if (!claim.ok()) return false;
    PublishGuard guard{sequencer_, claim.sequence, claim.sequence};
    fill(ring_.Get(claim.sequence), claim.sequence);
    return true;
  }

  // Publishes n consecutive events atomically: consumers see all or none. Returns the highest.
  // Requires: 1 <= n <= capacity (checked).
  template <class F>
  int64_t PublishBatch(int64_t n, F&& fill) {
    const int64_t high = sequencer_.Next(n);
    PublishGuard guard{sequencer_, high - n + 1, high};
    for (int64_t s = high - n + 1; s <= high; ++s) fill(ring_.Get(s), s);
    return high;
  }

  [[nodiscard]] RingBuffer<E>& ring() noexcept { return ring_; }
  [[nodiscard]] S& sequencer() noexcept { return sequencer_; }
  [[nodiscard]] int64_t Cursor() const noexcept { return sequencer_.Cursor(); }
  [[nodiscard]] int64_t Occupancy() const noexcept { return sequencer_.Occupancy(); }
  [[nodiscard]] double BackpressureRatio() const noexcept { return sequencer_.BackpressureRatio(); }

  // The progress of the stage running `handler`.
  template <class H>
  [[nodiscard]] const Sequence& SequenceOf(const H& handler) const {
    return stages_[ProcessorOf(&handler)]->sequence();
  }

 private:
  // Type erasure at the lifecycle level only: one virtual call per Run, none per event.
  struct StageBase {
    explicit StageBase(StageOptions o) : options(std::move(o)) {}
    virtual ~StageBase() = default;
    virtual void Run() = 0;
    virtual void Halt() noexcept = 0;
    virtual const Sequence& sequence() const noexcept = 0;
    StageOptions options;
    const void* handler = nullptr;
    bool has_downstream = false;
  };

  template <class H>
  struct StageImpl final : StageBase {
    StageImpl(Disruptor& d, std::vector<const Sequence*> upstream, H& h, StageOptions o)
        : StageBase(o),
          processor(
              d.ring_, d.sequencer_, std::move(upstream), h,
              ProcessorOptions{o.name, o.max_batch_size, o.error_policy, o.report_exception}) {}
    void Run() override { processor.Run(); }
    void Halt() noexcept override { processor.Halt(); }
    const Sequence& sequence() const noexcept override { return processor.sequence(); }
    BatchEventProcessor<E, H, S> processor;
  };

  struct PublishGuard {
    S& sequencer;
    int64_t low;
    int64_t high;
    ~PublishGuard() { sequencer.Publish(low, high); }
  };

  template <class T>
  static auto ToSpec(T&& stage) {
    using D = std::remove_cvref_t<T>;
    if constexpr (IsStageSpec<D>::value) {
      return D(std::forward<T>(stage));
    } else {
      static_assert(std::is_lvalue_reference_v<T>,
                    "pass handlers by reference; they must outlive the disruptor");
      return StageSpec<D>{&stage, {}};
    }
  }

  template <class... Stages>
  HandlerGroup AddStages(const std::vector<std::size_t>& after, Stages&&... stages) {
    RINGCAST_CHECK(!started_, "stages must be added before Start");
    std::vector<const Sequence*> upstream;
    for (std::size_t id : after) upstream.push_back(&stages_[id]->sequence());
    std::vector<std::size_t> ids;
    (ids.push_back(AddStage(upstream, ToSpec(std::forward<Stages>(stages)))), ...);
    // The new stages gate the producers instead of the ones they follow.
    for (std::size_t id : after) {
      if (!stages_[id]->has_downstream) {
        stages_[id]->has_downstream = true;
        sequencer_.RemoveGatingSequence(stages_[id]->sequence());
      }
    }
    return HandlerGroup(this, std::move(ids));
  }

  template <class H>
  std::size_t AddStage(const std::vector<const Sequence*>& upstream, StageSpec<H> spec) {
    static_assert(EventHandler<H, E>,
                  "a handler needs OnEvent(E&, int64_t sequence, bool end_of_batch)");
    RINGCAST_CHECK(spec.handler != nullptr, "null handler");
    const std::size_t id = stages_.size();
    if (spec.options.name.empty()) spec.options.name = absl::StrCat("stage-", id);
    auto stage = std::make_unique<StageImpl<H>>(*this, upstream, *spec.handler, spec.options);
    stage->handler = spec.handler;
    // Start where the ring is now: a new stage sees everything not yet released by the others.
    const int64_t start = upstream.empty() ? sequencer_.MinimumGatingSequence(sequencer_.Cursor())
                                           : MinimumSequence(upstream);
    stage->processor.sequence().Set(start);
    RINGCAST_CHECK(sequencer_.AddGatingSequence(stage->sequence()),
                   "too many gating stages; raise SequencerOptions::max_gating_sequences");
    stages_.push_back(std::move(stage));
    return id;
  }

  std::size_t ProcessorOf(const void* handler) const {
    for (std::size_t i = 0; i < stages_.size(); ++i) {
      if (stages_[i]->handler == handler) return i;
    }
    RINGCAST_CHECK(false, "After(): handler was never passed to HandleEventsWith or Then");
    return 0;
  }

  // Events the slowest stage has still to process, counting claimed-but-unpublished ones.
  int64_t Backlog() const noexcept {
    const int64_t cursor = sequencer_.Cursor();
    int64_t slowest = cursor;
    for (const auto& stage : stages_) {
      const int64_t s = stage->sequence().Get();
      if (s < slowest) slowest = s;
    }
    return cursor - slowest;
  }

  RingBuffer<E> ring_;
  S sequencer_;
  std::vector<std::unique_ptr<StageBase>> stages_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_DISRUPTOR_H_
