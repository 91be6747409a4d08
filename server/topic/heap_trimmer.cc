#include "topic/heap_trimmer.h"

#include <malloc.h>

#include <chrono>

namespace ringcast::server {

HeapTrimmer::HeapTrimmer(absl::Duration period, uint64_t min_free_bytes)
    : period_(period), min_free_bytes_(min_free_bytes), thread_([this] { Run(); }) {}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t HeapTrimmer::returned_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return returned_;
}

void HeapTrimmer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, absl::ToChronoNanoseconds(period_), [&] { return stopping_; })) {
    lock.unlock();
    // fordblks: free bytes inside the heaps (mmapped buffers go back when freed anyway).
    const struct mallinfo2 info = mallinfo2();
    const uint64_t free_bytes = info.fordblks;
    bool trimmed = false;
    if (free_bytes >= min_free_bytes_) trimmed = malloc_trim(0) != 0;
    lock.lock();
    if (trimmed) returned_ += free_bytes;
  }
}

}  // namespace ringcast::server
