// The handler concept consumers are written against, and the optional hooks a handler may add.
//
//   void OnEvent(E& event, int64_t sequence, bool end_of_batch);   // required
//   void OnStart();                       // on the processor thread, before the first event
//   void OnShutdown();                    // on the processor thread, after the last event
//   void OnBatchStart(int64_t batch_size, int64_t queue_depth);   // before each batch
//   void OnTimeout(int64_t sequence);     // TimeoutBlocking expired; `sequence` is the last done
//
// `end_of_batch` is true on the last event the processor has in hand: the moment to flush.
//
// A closure (a lambda, a function) taking (E&, int64_t sequence, bool end_of_batch) is an
// EventFunction; the Disruptor wraps it in a FunctionHandler, so it can be passed wherever a
// handler can. A closure has no hooks: write a handler class when OnStart and friends are needed.
#ifndef RINGCAST_CORE_EVENT_HANDLER_H_
#define RINGCAST_CORE_EVENT_HANDLER_H_

#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

namespace ringcast {

template <class H, class E>
concept EventHandler = requires(H& h, E& event, int64_t sequence, bool end_of_batch) {
  h.OnEvent(event, sequence, end_of_batch);
};

template <class H>
concept HasOnStart = requires(H& h) {
  h.OnStart();
};
template <class H>
concept HasOnShutdown = requires(H& h) {
  h.OnShutdown();
};
template <class H>
concept HasOnBatchStart = requires(H& h, int64_t n) {
  h.OnBatchStart(n, n);
};
template <class H>
concept HasOnTimeout = requires(H& h, int64_t sequence) {
  h.OnTimeout(sequence);
};

template <class F, class E>
concept EventFunction = std::invocable<F&, E&, int64_t, bool>;

// Adapts an EventFunction to the EventHandler concept. F may be a reference type (the closure
// stays the caller's) or a value (the adapter owns it). No virtual call: OnEvent is inlined.
template <class F>
class FunctionHandler {
 public:
  template <class G>
  requires(!std::same_as<std::remove_cvref_t<G>, FunctionHandler>) explicit FunctionHandler(
      G&& function)
      : function_(std::forward<G>(function)) {}

  template <class E>
  void OnEvent(E& event, int64_t sequence, bool end_of_batch) {
    std::invoke(function_, event, sequence, end_of_batch);
  }

 private:
  F function_;
};

}  // namespace ringcast

#endif  // RINGCAST_CORE_EVENT_HANDLER_H_
