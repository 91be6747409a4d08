// Disruptor<E>: the DSL that wires a ring, a sequencer and processor threads into a topology.
//
//   Disruptor<Trade> d(1024);
//   d.HandleEventsWith(journal, replicate)   // multicast: both see every event
//    .Then(apply);                           // pipeline: apply sees an event after both
//   d.After(journal).HandleEventsWith(audit);  // diamond branch: audit runs after journal only
//   d.HandleEventsWith([](Trade& t, int64_t seq, bool end_of_batch) { ... });  // a closure
//   auto& poller = d.AddPoller();            // a pull consumer the caller drives
//   auto& lossy = d.AddLossyReader();        // a pull consumer producers never wait for
//   d.Start();
//   d.Publish([](Trade& t, int64_t seq) { t.id = seq; });
//   absl::Status drained = d.Shutdown(absl::Seconds(5));  // drain, then halt
//
// Handler objects passed by reference are owned by the caller and must outlive the disruptor.
// Closures and handlers passed by value (temporaries) are moved into the disruptor, which owns
// them; a closure passed by reference stays the caller's and can be named in After(). Pass
// `Stage(handler, options)` instead of a handler to name its thread, pin it to a CPU, bound its
// batches or choose its error policy. Each handler gets one thread.
//
// Shorter spellings: SingleProducerDisruptor<E, BusySpin>, MultiProducerDisruptor<E>, or
// DisruptorBuilder<E>(1024).SingleProducer().WaitWith(BusySpin()).Build() (all compile to the
// same type; nothing is decided at run time).
//
// Destruction: destroying a running disruptor drains it first, as Shutdown does, bounded by
// drain_on_destroy (5 s unless set_drain_on_destroy says otherwise); what is still unprocessed
// then is reported on stderr and dropped. Producers must have stopped. Pollers and lossy readers
// are driven by their callers and are not waited for.
//
// Thread safety: building the topology (HandleEventsWith, After, Then, AddPoller,
// AddLossyReader), Start, Shutdown, Halt and the setters belong to one controlling thread.
// Publish/TryPublish/PublishBatch/TryPublishBatch follow the sequencer: any thread for
// MultiProducerSequencer, one thread for SingleProducerSequencer. Introspection (Cursor,
// Occupancy, BackpressureRatio, LagOf, PressureOf, IsUnderPressure, ShouldThrottle) is safe from
// any thread.
#ifndef RINGCAST_CORE_DISRUPTOR_H_
#define RINGCAST_CORE_DISRUPTOR_H_

#include <chrono>
#include <concepts>
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
#include "ringcast/core/event_handler.h"
#include "ringcast/core/event_poller.h"
#include "ringcast/core/lossy_reader.h"
#include "ringcast/core/multi_producer_sequencer.h"
#include "ringcast/core/pressure.h"
#include "ringcast/core/ring_buffer.h"
#include "ringcast/core/single_producer_sequencer.h"
#include "ringcast/core/thread.h"

namespace ringcast {

struct StageOptions {
  std::string name;  // thread name; "stage-<n>" when empty
  int cpu = -1;      // pin the thread to this CPU; -1 leaves it to the scheduler
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  ErrorPolicy error_policy = ErrorPolicy::kLogAndContinue;
  ExceptionReporter report_exception = LogHandlerException;
};

// A handler the caller owns, with options.
template <class H>
struct StageSpec {
  H* handler;
  StageOptions options;
};

// A handler or closure the disruptor owns (moved in), with options.
template <class H>
struct OwnedStageSpec {
  H handler;
  StageOptions options;
};

// A handler with options, for HandleEventsWith and Then. An lvalue stays the caller's; a
// temporary (a lambda written in place) is moved into the disruptor.
template <class H>
StageSpec<H> Stage(H& handler, StageOptions options = {}) {
  return StageSpec<H>{&handler, std::move(options)};
}
template <class H>
requires(!std::is_lvalue_reference_v<H>)
    OwnedStageSpec<std::remove_cvref_t<H>> Stage(H&& handler, StageOptions options = {}) {
  return OwnedStageSpec<std::remove_cvref_t<H>>{std::move(handler), std::move(options)};
}

template <class E, Sequencer S = MultiProducerSequencer<Blocking>>
class Disruptor {
  template <class T>
  struct IsStageSpec : std::false_type {};
  template <class H>
  struct IsStageSpec<StageSpec<H>> : std::true_type {};
  template <class H>
  struct IsStageSpec<OwnedStageSpec<H>> : std::true_type {};
  struct DefaultFactory {
    E operator()() const { return E(); }
  };

 public:
  using EventType = E;
  using SequencerType = S;
  using WaitStrategyType = typename S::WaitStrategyType;
  using Poller = EventPoller<E, S>;
  using Lossy = LossyReader<E, S>;
  using DefaultFactoryType = DefaultFactory;

  // How long destroying a running disruptor waits for its stages to drain, unless changed.
  static constexpr absl::Duration kDefaultDrainOnDestroy = absl::Seconds(5);

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
    // A poller that sees each event after every stage of this group finished it.
    Poller& AddPoller() { return disruptor_->AddPollerAfter(processors_); }
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

  // With the destructor's drain bound and the pressure thresholds too (what DisruptorBuilder
  // calls).
  template <class Factory>
  Disruptor(int64_t capacity, Factory&& factory, WaitStrategyType wait_strategy,
            const SequencerOptions& options, absl::Duration drain_on_destroy,
            const PressureThresholds& thresholds)
      : Disruptor(capacity, std::forward<Factory>(factory), std::move(wait_strategy), options) {
    drain_on_destroy_ = drain_on_destroy;
    thresholds_ = thresholds;
  }

  // Drains what the stages have not processed yet (bounded by drain_on_destroy), then halts.
  ~Disruptor() {
    if (threads_.empty()) return;
    if (absl::Status drained = Shutdown(drain_on_destroy_); !drained.ok()) {
      std::fprintf(stderr, "ringcast: disruptor destroyed before it drained: %s\n",
                   drained.ToString().c_str());
    }
  }

  Disruptor(const Disruptor&) = delete;
  Disruptor& operator=(const Disruptor&) = delete;

  // How long the destructor waits for the stages to drain; zero makes it halt at once.
  void set_drain_on_destroy(absl::Duration timeout) noexcept { drain_on_destroy_ = timeout; }
  [[nodiscard]] absl::Duration drain_on_destroy() const noexcept { return drain_on_destroy_; }

  void set_pressure_thresholds(const PressureThresholds& thresholds) noexcept {
    thresholds_ = thresholds;
  }
  [[nodiscard]] const PressureThresholds& pressure_thresholds() const noexcept {
    return thresholds_;
  }

  // First stages: each sees every published event (multicast). Each argument is a handler
  // (OnEvent(E&, int64_t, bool)), a closure taking the same arguments, or a Stage(...) of either.
  template <class... Stages>
  HandlerGroup HandleEventsWith(Stages&&... stages) {
    return AddStages({}, std::forward<Stages>(stages)...);
  }

  // The group of already registered handlers (or closures passed by reference), to make new
  // stages follow them.
  template <class... Handlers>
  HandlerGroup After(Handlers&... handlers) {
    std::vector<std::size_t> ids;
    (ids.push_back(ProcessorOf(&handlers)), ...);
    return HandlerGroup(this, std::move(ids));
  }

  // A pull consumer that sees every published event, gating the producers like a stage; the
  // caller drives it with Poll or WaitPoll from a thread of its own. Owned by the disruptor.
  // Requires: added before Start.
  Poller& AddPoller() { return AddPollerAfter({}); }

  // A pull consumer that producers never wait for (see lossy_reader.h). Owned by the disruptor.
  // Requires: added before producers start publishing.
  Lossy& AddLossyReader() {
    RINGCAST_CHECK(!started_, "lossy readers must be added before Start");
    lossy_readers_.push_back(std::make_unique<Lossy>(ring_, sequencer_));
    return *lossy_readers_.back();
  }

  // Starts one thread per stage. FAILED_PRECONDITION if already started or it has no consumer at
  // all (stage, poller or lossy reader). A disruptor of pollers only starts no thread.
  absl::Status Start() {
    if (started_) return absl::FailedPreconditionError("disruptor already started");
    if (stages_.empty() && pollers_.empty() && lossy_readers_.empty()) {
      return absl::FailedPreconditionError(
          "disruptor has no consumers: add a stage, a poller or a lossy reader");
    }
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
  // never returns from OnEvent cannot be interrupted. Pollers and lossy readers are drained by
  // whoever polls them; they are not waited for. Without running stages it returns at once: OK
  // if the stages have nothing left, FAILED_PRECONDITION (saying how much) if they never ran or
  // were halted with events unprocessed.
  absl::Status Shutdown(absl::Duration timeout) {
    if (threads_.empty()) {
      if (const int64_t backlog = Backlog(); backlog > 0) {
        return absl::FailedPreconditionError(absl::StrCat("disruptor stages are not running; ",
                                                          backlog, " events were not processed"));
      }
      return absl::OkStatus();
    }
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
  // `fill` is `fill(E&, int64_t sequence, int64_t index)`, index counting 0..n-1 within the
  // batch, or `fill(E&, int64_t sequence)`. Requires: 1 <= n <= capacity (checked).
  template <class F>
  int64_t PublishBatch(int64_t n, F&& fill) {
    const int64_t high = sequencer_.Next(n);
    FillBatch(high - n + 1, high, fill);
    return high;
  }

  // As PublishBatch, but returns false at once (publishing nothing) when the ring lacks room for
  // all n events now, or n is not in 1..capacity.
  template <class F>
  [[nodiscard]] bool TryPublishBatch(int64_t n, F&& fill) {
    const ClaimResult claim = sequencer_.TryNext(n);
    if (!claim.ok()) return false;
    FillBatch(claim.sequence - n + 1, claim.sequence, fill);
    return true;
  }

  [[nodiscard]] RingBuffer<E>& ring() noexcept { return ring_; }
  [[nodiscard]] S& sequencer() noexcept { return sequencer_; }
  [[nodiscard]] int64_t capacity() const noexcept { return ring_.capacity(); }
  [[nodiscard]] int64_t Cursor() const noexcept { return sequencer_.Cursor(); }
  [[nodiscard]] int64_t Occupancy() const noexcept { return sequencer_.Occupancy(); }
  [[nodiscard]] double BackpressureRatio() const noexcept { return sequencer_.BackpressureRatio(); }

  // Whether the slowest gating consumer is at least pressure_thresholds().under_pressure (or
  // .throttle) of a ring behind: the producers' early warnings. Lossy readers never count.
  [[nodiscard]] bool IsUnderPressure() const noexcept {
    return ringcast::IsUnderPressure(BackpressureRatio(), thresholds_);
  }
  [[nodiscard]] bool ShouldThrottle() const noexcept {
    return ringcast::ShouldThrottle(BackpressureRatio(), thresholds_);
  }

  // The progress of the stage running `handler`.
  template <class H>
  [[nodiscard]] const Sequence& SequenceOf(const H& handler) const {
    return stages_[ProcessorOf(&handler)]->sequence();
  }
  // Events claimed that the stage running `handler` has not processed yet, and that as a share of
  // the ring (0..1): one reader's pressure figure.
  template <class H>
  [[nodiscard]] int64_t LagOf(const H& handler) const {
    const int64_t lag = sequencer_.Cursor() - SequenceOf(handler).Get();
    return lag < 0 ? 0 : lag;
  }
  template <class H>
  [[nodiscard]] double PressureOf(const H& handler) const {
    return PressureRatio(LagOf(handler), ring_.capacity());
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

  // H is what the stage keeps: a reference to a caller-owned handler, or a handler it owns.
  template <class H>
  struct StageImpl final : StageBase {
    using Handler = std::remove_reference_t<H>;
    template <class Arg>
    StageImpl(Disruptor& d, std::vector<const Sequence*> upstream, Arg&& h, StageOptions o)
        : StageBase(o),
          kept(std::forward<Arg>(h)),
          processor(
              d.ring_, d.sequencer_, std::move(upstream), kept,
              ProcessorOptions{o.name, o.max_batch_size, o.error_policy, o.report_exception}) {}
    void Run() override { processor.Run(); }
    void Halt() noexcept override { processor.Halt(); }
    const Sequence& sequence() const noexcept override { return processor.sequence(); }
    H kept;
    BatchEventProcessor<E, Handler, S> processor;
  };

  struct PublishGuard {
    S& sequencer;
    int64_t low;
    int64_t high;
    ~PublishGuard() { sequencer.Publish(low, high); }
  };

  template <class F>
  void FillBatch(int64_t low, int64_t high, F& fill) {
    PublishGuard guard{sequencer_, low, high};
    for (int64_t s = low; s <= high; ++s) {
      if constexpr (std::invocable<F&, E&, int64_t, int64_t>) {
        fill(ring_.Get(s), s, s - low);
      } else {
        fill(ring_.Get(s), s);
      }
    }
  }

  template <class T>
  static auto ToSpec(T&& stage) {
    using D = std::remove_cvref_t<T>;
    if constexpr (IsStageSpec<D>::value) {
      return D(std::forward<T>(stage));
    } else if constexpr (std::is_lvalue_reference_v<T>) {
      return StageSpec<D>{&stage, {}};
    } else {
      return OwnedStageSpec<D>{std::forward<T>(stage), {}};
    }
  }

  template <class... Stages>
  HandlerGroup AddStages(const std::vector<std::size_t>& after, Stages&&... stages) {
    RINGCAST_CHECK(!started_, "stages must be added before Start");
    std::vector<const Sequence*> upstream = UpstreamOf(after);
    std::vector<std::size_t> ids;
    (ids.push_back(AddStage(upstream, ToSpec(std::forward<Stages>(stages)))), ...);
    StopGating(after);
    return HandlerGroup(this, std::move(ids));
  }

  std::vector<const Sequence*> UpstreamOf(const std::vector<std::size_t>& after) const {
    std::vector<const Sequence*> upstream;
    for (std::size_t id : after) upstream.push_back(&stages_[id]->sequence());
    return upstream;
  }

  // The stages in `after` gate the producers through their followers from now on.
  void StopGating(const std::vector<std::size_t>& after) {
    for (std::size_t id : after) {
      if (!stages_[id]->has_downstream) {
        stages_[id]->has_downstream = true;
        sequencer_.RemoveGatingSequence(stages_[id]->sequence());
      }
    }
  }

  // Where a new consumer starts: everything not yet released by the others.
  int64_t StartFor(const std::vector<const Sequence*>& upstream) const {
    return upstream.empty() ? sequencer_.MinimumGatingSequence(sequencer_.Cursor())
                            : MinimumSequence(upstream);
  }

  template <class H>
  std::size_t AddStage(const std::vector<const Sequence*>& upstream, StageSpec<H> spec) {
    RINGCAST_CHECK(spec.handler != nullptr, "null handler");
    if constexpr (EventHandler<H, E>) {
      return AddStageImpl<H&>(upstream, spec.handler, *spec.handler, std::move(spec.options));
    } else {
      static_assert(EventFunction<H, E>,
                    "a handler needs OnEvent(E&, int64_t sequence, bool end_of_batch), or must be "
                    "callable as (E&, int64_t sequence, bool end_of_batch)");
      return AddStageImpl<FunctionHandler<H&>>(upstream, spec.handler, *spec.handler,
                                               std::move(spec.options));
    }
  }

  template <class H>
  std::size_t AddStage(const std::vector<const Sequence*>& upstream, OwnedStageSpec<H> spec) {
    if constexpr (EventHandler<H, E>) {
      return AddStageImpl<H>(upstream, nullptr, std::move(spec.handler), std::move(spec.options));
    } else {
      static_assert(EventFunction<H, E>,
                    "a handler needs OnEvent(E&, int64_t sequence, bool end_of_batch), or must be "
                    "callable as (E&, int64_t sequence, bool end_of_batch)");
      return AddStageImpl<FunctionHandler<H>>(upstream, nullptr, std::move(spec.handler),
                                              std::move(spec.options));
    }
  }

  // `identity` is what After() finds the stage by: the caller's object, or null when owned.
  template <class Kept, class Arg>
  std::size_t AddStageImpl(const std::vector<const Sequence*>& upstream, const void* identity,
                           Arg&& handler, StageOptions options) {
    const std::size_t id = stages_.size();
    if (options.name.empty()) options.name = absl::StrCat("stage-", id);
    auto stage = std::make_unique<StageImpl<Kept>>(*this, upstream, std::forward<Arg>(handler),
                                                   std::move(options));
    stage->handler = identity;
    stage->processor.sequence().Set(StartFor(upstream));
    RINGCAST_CHECK(sequencer_.AddGatingSequence(stage->sequence()),
                   "too many gating stages; raise SequencerOptions::max_gating_sequences");
    stages_.push_back(std::move(stage));
    return id;
  }

  Poller& AddPollerAfter(const std::vector<std::size_t>& after) {
    RINGCAST_CHECK(!started_, "pollers must be added before Start");
    std::vector<const Sequence*> upstream = UpstreamOf(after);
    const int64_t start = StartFor(upstream);
    auto poller = std::make_unique<Poller>(ring_, sequencer_, std::move(upstream));
    poller->sequence().Set(start);
    RINGCAST_CHECK(sequencer_.AddGatingSequence(poller->sequence()),
                   "too many gating consumers; raise SequencerOptions::max_gating_sequences");
    StopGating(after);
    pollers_.push_back(std::move(poller));
    return *pollers_.back();
  }

  std::size_t ProcessorOf(const void* handler) const {
    for (std::size_t i = 0; i < stages_.size(); ++i) {
      if (stages_[i]->handler == handler) return i;
    }
    RINGCAST_CHECK(false,
                   "After(): handler was never passed by reference to HandleEventsWith or "
                   "Then (a temporary is owned by the disruptor and cannot be named)");
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
  // After the sequencer, so destroyed before it: a lossy reader unregisters on destruction.
  std::vector<std::unique_ptr<StageBase>> stages_;
  std::vector<std::unique_ptr<Poller>> pollers_;
  std::vector<std::unique_ptr<Lossy>> lossy_readers_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  absl::Duration drain_on_destroy_ = kDefaultDrainOnDestroy;
  PressureThresholds thresholds_;
};

// The usual shapes, spelled once.
template <class E, WaitStrategy W = Blocking, ProducerWaitPolicy P = BackoffOnFull>
using SingleProducerDisruptor = Disruptor<E, SingleProducerSequencer<W, P>>;
template <class E, WaitStrategy W = Blocking, ProducerWaitPolicy P = BackoffOnFull>
using MultiProducerDisruptor = Disruptor<E, MultiProducerSequencer<W, P>>;

enum class ProducerType : uint8_t { kSingle, kMulti };

// Reads like the Rust builders and compiles to a plain Disruptor: every choice is a template
// argument or a constructor argument, nothing is looked up at run time.
//
//   auto d = DisruptorBuilder<Tick>(1024).SingleProducer().WaitWith(BusySpin()).Build();
//   // d is a SingleProducerDisruptor<Tick, BusySpin>
template <class E, ProducerType kProducers = ProducerType::kMulti, WaitStrategy W = Blocking,
          ProducerWaitPolicy P = BackoffOnFull, class Factory = std::nullptr_t>
class DisruptorBuilder {
 public:
  using SequencerType =
      std::conditional_t<kProducers == ProducerType::kSingle, SingleProducerSequencer<W, P>,
                         MultiProducerSequencer<W, P>>;
  using DisruptorType = Disruptor<E, SequencerType>;

  explicit DisruptorBuilder(int64_t capacity) requires(std::same_as<Factory, std::nullptr_t>)
      : capacity_(capacity) {}

  // One producer thread (the fastest claim), or any number.
  auto SingleProducer() && { return Rebind<ProducerType::kSingle, W, P>(std::move(wait_)); }
  auto MultiProducer() && { return Rebind<ProducerType::kMulti, W, P>(std::move(wait_)); }

  // How consumers wait (BusySpin, Yielding, Sleeping, Blocking, TimeoutBlocking, PhasedBackoff).
  template <WaitStrategy W2>
  auto WaitWith(W2 wait) && {
    return Rebind<kProducers, W2, P>(std::move(wait));
  }
  // What a producer does on a full ring (SpinOnFull, YieldOnFull, BackoffOnFull).
  template <ProducerWaitPolicy P2>
  auto WhenFull() && {
    return Rebind<kProducers, W, P2>(std::move(wait_));
  }
  // Builds each slot with `factory()` instead of E().
  template <class F>
  auto WithFactory(F factory) && {
    DisruptorBuilder<E, kProducers, W, P, F> next(capacity_, std::move(wait_), std::move(factory));
    next.CopySettings(*this);
    return next;
  }
  DisruptorBuilder&& WithSequencerOptions(const SequencerOptions& options) && {
    sequencer_options_ = options;
    return std::move(*this);
  }
  DisruptorBuilder&& DrainOnDestroy(absl::Duration timeout) && {
    drain_on_destroy_ = timeout;
    return std::move(*this);
  }
  DisruptorBuilder&& Pressure(const PressureThresholds& thresholds) && {
    thresholds_ = thresholds;
    return std::move(*this);
  }

  // The disruptor, built in place in the caller's variable (no copy or move: C++17 guarantees
  // the elision). Requires: capacity is a power of two (checked).
  DisruptorType Build() && {
    if constexpr (std::same_as<Factory, std::nullptr_t>) {
      return DisruptorType(capacity_, typename DisruptorType::DefaultFactoryType(),
                           std::move(wait_), sequencer_options_, drain_on_destroy_, thresholds_);
    } else {
      return DisruptorType(capacity_, factory_, std::move(wait_), sequencer_options_,
                           drain_on_destroy_, thresholds_);
    }
  }

 private:
  template <class, ProducerType, WaitStrategy, ProducerWaitPolicy, class>
  friend class DisruptorBuilder;

  DisruptorBuilder(int64_t capacity, W wait, Factory factory)
      : capacity_(capacity), wait_(std::move(wait)), factory_(std::move(factory)) {}

  template <ProducerType kP2, WaitStrategy W2, ProducerWaitPolicy P2>
  auto Rebind(W2 wait) {
    DisruptorBuilder<E, kP2, W2, P2, Factory> next(capacity_, std::move(wait), std::move(factory_));
    next.CopySettings(*this);
    return next;
  }
  template <class Other>
  void CopySettings(const Other& other) {
    sequencer_options_ = other.sequencer_options_;
    drain_on_destroy_ = other.drain_on_destroy_;
    thresholds_ = other.thresholds_;
  }

  int64_t capacity_;
  W wait_ = W();
  Factory factory_ = Factory();
  SequencerOptions sequencer_options_;
  absl::Duration drain_on_destroy_ = absl::Seconds(5);
  PressureThresholds thresholds_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_DISRUPTOR_H_
