// ZeroPages: an anonymous private mapping of zero-filled pages. The kernel commits a page only
// when it is first written (reads of untouched pages share one zero page), so a large array costs
// memory in proportion to what has been written to it.
//
// Used by RingBuffer's zero-filled rings and by MultiProducerSequencer's availability flags.
#ifndef RINGCAST_CORE_ZERO_PAGES_H_
#define RINGCAST_CORE_ZERO_PAGES_H_

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <utility>

namespace ringcast::internal {

class ZeroPages {
 public:
  // At least `bytes` of zeros, page-aligned. Throws std::bad_alloc if the kernel refuses.
  explicit ZeroPages(std::size_t bytes) : bytes_(RoundUp(bytes)) {
    void* pages = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == MAP_FAILED) throw std::bad_alloc();
    data_ = pages;
  }
  ZeroPages(ZeroPages&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  ZeroPages& operator=(ZeroPages&&) = delete;
  ZeroPages(const ZeroPages&) = delete;
  ZeroPages& operator=(const ZeroPages&) = delete;
  ~ZeroPages() {
    if (data_ != nullptr) ::munmap(data_, bytes_);
  }

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }

 private:
  static std::size_t RoundUp(std::size_t bytes) noexcept {
    constexpr std::size_t kPage = 4096;  // a multiple of it is fine whatever the real page size
    return bytes == 0 ? kPage : (bytes + kPage - 1) / kPage * kPage;
  }

  void* data_ = nullptr;
  std::size_t bytes_;
};

}  // namespace ringcast::internal

#endif  // RINGCAST_CORE_ZERO_PAGES_H_
