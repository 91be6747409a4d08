// The handler concept consumers are written against, and the optional hooks a handler may add.
//
//   void OnEvent(E& event, int64_t sequence, bool end_of_batch);   // required
//   void OnStart();                       // on the processor thread, before the first event
//   void OnShutdown();                    // on the processor thread, after the last event
//   void OnBatchStart(int64_t batch_size, int64_t queue_depth);   // before each batch
//   void OnTimeout(int64_t sequence);     // TimeoutBlocking expired; `sequence` is the last done
//
// `end_of_batch` is true on the last event the processor has in hand: the moment to flush.
#ifndef RINGCAST_CORE_EVENT_HANDLER_H_
#define RINGCAST_CORE_EVENT_HANDLER_H_

#include <cstdint>

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

}  // namespace ringcast

#endif  // RINGCAST_CORE_EVENT_HANDLER_H_
