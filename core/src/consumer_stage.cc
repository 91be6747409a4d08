#include "ringcast/core/consumer_stage.h"

#include <cstdio>
#include <exception>
#include <string>

namespace ringcast {

std::string DescribeException(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

void LogHandlerException(const std::string& processor, int64_t sequence, std::exception_ptr error) {
  const std::string what = DescribeException(error);
  std::fprintf(stderr, "ringcast: handler %s threw at sequence %lld: %s\n", processor.c_str(),
               static_cast<long long>(sequence), what.c_str());
}

}  // namespace ringcast
