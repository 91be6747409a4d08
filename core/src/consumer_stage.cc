#include "ringcast/core/consumer_stage.h"

#include <cstdio>
#include <exception>
#include <string>

namespace ringcast {

void LogHandlerException(const std::string& processor, int64_t sequence, std::exception_ptr error) {
  std::string what = "unknown exception";
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "ringcast: handler %s threw at sequence %lld: %s\n", processor.c_str(),
               static_cast<long long>(sequence), what.c_str());
}

}  // namespace ringcast
