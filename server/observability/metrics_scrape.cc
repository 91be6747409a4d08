#include "observability/metrics_scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringcast::testing {
namespace {

absl::Status ParseError(int line_number, absl::string_view line, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", why, ": ", line));
}

// Parses `{name="value",...}` at the front of `rest` into `labels`, consuming it.
bool ParseLabels(absl::string_view& rest, Labels& labels) {
  if (!absl::ConsumePrefix(&rest, "{")) return false;
  while (!absl::ConsumePrefix(&rest, "}")) {
    const std::size_t eq = rest.find('=');
    if (eq == absl::string_view::npos || eq == 0) return false;
    const std::string name(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    if (!absl::ConsumePrefix(&rest, "\"")) return false;
    std::string value;
    for (;;) {
      if (rest.empty()) return false;
      const char c = rest.front();
      rest.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\') {
        if (rest.empty()) return false;
        const char escaped = rest.front();
        rest.remove_prefix(1);
        if (escaped == 'n') {
          value.push_back('\n');
        } else if (escaped == '\\' || escaped == '"') {
          value.push_back(escaped);
        } else {
          return false;
        }
      } else {
        value.push_back(c);
      }
    }
    if (!labels.emplace(name, std::move(value)).second) return false;  // a repeated label
    absl::ConsumePrefix(&rest, ",");
  }
  return true;
}

bool ParseValue(absl::string_view text, double& value) {
  if (text == "+Inf") {
    value = HUGE_VAL;
    return true;
  }
  if (text == "-Inf") {
    value = -HUGE_VAL;
    return true;
  }
  if (absl::EqualsIgnoreCase(text, "NaN")) {
    value = std::nan("");
    return true;
  }
  return absl::SimpleAtod(text, &value);
}

}  // namespace

absl::StatusOr<Exposition> Exposition::Parse(const std::string& text) {
  Exposition exposition;
  exposition.text_ = text;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      const std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2) return ParseError(line_number, line, "bad TYPE line");
      exposition.types_[parts[0]] = parts[1];
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;  // HELP and comments
    Sample sample;
    const std::size_t name_end = line.find_first_of("{ ");
    if (name_end == absl::string_view::npos || name_end == 0) {
      return ParseError(line_number, line, "no metric name");
    }
    sample.name = std::string(line.substr(0, name_end));
    absl::string_view rest = line.substr(name_end);
    if (absl::StartsWith(rest, "{") && !ParseLabels(rest, sample.labels)) {
      return ParseError(line_number, line, "bad labels");
    }
    if (!absl::ConsumePrefix(&rest, " ")) return ParseError(line_number, line, "no value");
    // An optional timestamp follows the value.
    const absl::string_view value = rest.substr(0, rest.find(' '));
    if (!ParseValue(value, sample.value)) return ParseError(line_number, line, "bad value");
    exposition.samples_.push_back(std::move(sample));
  }
  return exposition;
}

std::optional<double> Exposition::Value(const std::string& name, const Labels& labels) const {
  for (const Sample& sample : samples_) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

double Exposition::ValueOr0(const std::string& name, const Labels& labels) const {
  return Value(name, labels).value_or(0);
}

std::set<std::string> Exposition::LabelValues(const std::string& label,
                                              const std::string& family) const {
  std::set<std::string> values;
  for (const Sample& sample : samples_) {
    if (!family.empty() && !absl::StartsWith(sample.name, family)) continue;
    if (const auto it = sample.labels.find(label); it != sample.labels.end()) {
      values.insert(it->second);
    }
  }
  return values;
}

std::vector<Sample> Exposition::SamplesOf(const std::string& prefix) const {
  std::vector<Sample> matching;
  for (const Sample& sample : samples_) {
    if (absl::StartsWith(sample.name, prefix)) matching.push_back(sample);
  }
  return matching;
}

std::string Exposition::TypeOf(const std::string& family) const {
  const auto it = types_.find(family);
  return it == types_.end() ? "" : it->second;
}

std::set<std::string> Exposition::Families() const {
  std::set<std::string> families;
  for (const auto& [family, type] : types_) families.insert(family);
  return families;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(error)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string reply;
  bool sent = send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(request.size());
  char buffer[16384];
  for (ssize_t n; sent && (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  if (!sent) return absl::UnavailableError("could not send the request");
  const std::size_t header_end = reply.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    return absl::DataLossError(
        absl::StrCat("no HTTP header in a reply of ", reply.size(), " bytes"));
  }
  const absl::string_view status_line = absl::string_view(reply).substr(0, reply.find("\r\n"));
  if (!absl::StrContains(status_line, " 200 ")) {
    return absl::FailedPreconditionError(absl::StrCat("GET ", path, ": ", status_line));
  }
  return reply.substr(header_end + 4);
}

absl::StatusOr<Exposition> Scrape(int port) {
  absl::StatusOr<std::string> body = HttpGet(port, "/metrics");
  if (!body.ok()) return body.status();
  return Exposition::Parse(*body);
}

}  // namespace ringcast::testing
