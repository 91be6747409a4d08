#include "bench/peers/nats_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace ringcast::bench::nats {
namespace {

constexpr std::size_t kReadBufferBytes = 256 * 1024;
// Reads go into at least this much free space; compacting the buffer makes room.
constexpr std::size_t kMinReadRoom = 64 * 1024;
// The longest protocol line accepted (INFO is the longest the server sends). Payloads are passed
// over without being buffered, so they may be longer.
constexpr std::size_t kMaxLineBytes = 32 * 1024;
constexpr std::string_view kPing = "PING\r\n";

// The raw text of field `key` of a flat JSON object: a string's contents, or a number or literal;
// empty if absent. Enough for the INFO fields read here, which hold no escapes.
std::string_view JsonValue(std::string_view json, const char* key) {
  const std::string quoted = absl::StrCat("\"", key, "\":");
  std::size_t at = json.find(quoted);
  if (at == std::string_view::npos) return {};
  at = json.find_first_not_of(' ', at + quoted.size());
  if (at == std::string_view::npos) return {};
  if (json[at] == '"') {
    const std::size_t end = json.find('"', at + 1);
    return end == std::string_view::npos ? std::string_view() : json.substr(at + 1, end - at - 1);
  }
  std::string_view value = json.substr(at, json.find_first_of(",}", at) - at);
  while (value.ends_with(' ')) value.remove_suffix(1);
  return value;
}

// `text` as a whole decimal number.
bool ParseInt(std::string_view text, int64_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The start of a line, for an error message.
std::string Shorten(std::string_view line) { return std::string(line.substr(0, 120)); }

}  // namespace

Connection::Connection(int fd, absl::Duration timeout)
    : fd_(fd), timeout_(timeout), in_(kReadBufferBytes) {
  // As NATS's own clients do: commands go out as written, not held back by Nagle's algorithm.
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const timeval limit = absl::ToTimeval(timeout_);
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));  // bounds connect() too
}

Connection::~Connection() { close(fd_); }

absl::StatusOr<std::unique_ptr<Connection>> Connection::Dial(const std::string& host, int port,
                                                             const std::string& name,
                                                             absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  int error = 0;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    std::unique_ptr<Connection> connection(new Connection(fd, timeout));
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      continue;
    }
    while (!connection->has_info_) {
      if (absl::Status s = connection->ReadSome(); !s.ok()) return s;
    }
    // `name` is one of this program's own client names: nothing in it needs escaping.
    const std::string connect_command =
        absl::StrCat(R"(CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":")",
                     name, R"(","lang":"cpp","version":"0.1.0","protocol":1})", "\r\n");
    if (absl::Status s = connection->Write(connect_command); !s.ok()) return s;
    if (absl::Status s = connection->Flush(); !s.ok()) return s;
    return connection;
  }
  return absl::UnavailableError(
      absl::StrCat("connect to ", host, ":", port, ": ", std::strerror(error)));
}

absl::Status Connection::Write(std::string_view bytes, bool ping) {
  iovec parts[2] = {{const_cast<char*>(bytes.data()), bytes.size()},
                    {const_cast<char*>(kPing.data()), kPing.size()}};
  iovec* next = parts;
  std::size_t count = ping ? 2 : 1;
  while (count > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = count;
    // MSG_NOSIGNAL: a connection the server closed is an error to report, not a SIGPIPE.
    const ssize_t n = sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return absl::DeadlineExceededError(
            absl::StrCat("the server took nothing for ", absl::FormatDuration(timeout_)));
      }
      return absl::UnavailableError(absl::StrCat("write: ", std::strerror(errno)));
    }
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= next->iov_len) {
      left -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + left;
      next->iov_len -= left;
    }
  }
  if (ping) ++pings_sent_;
  return absl::OkStatus();
}

absl::Status Connection::ReadSome() {
  if (in_.size() - end_ < kMinReadRoom) {
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  ssize_t n;
  do {
    n = recv(fd_, in_.data() + end_, in_.size() - end_, 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    closed_ = true;
    return absl::UnavailableError("the connection was closed");
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::DeadlineExceededError(
          absl::StrCat("nothing from the server for ", absl::FormatDuration(timeout_)));
    }
    return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
  }
  end_ += static_cast<std::size_t>(n);
  absl::Status status = ParseBuffered();
  if (status.ok() && pong_due_) {
    pong_due_ = false;
    status = Write("PONG\r\n");
  }
  return status;
}

absl::Status Connection::Flush() {
  if (absl::Status s = Write({}, /*ping=*/true); !s.ok()) return s;
  while (pings_outstanding() > 0) {
    if (absl::Status s = ReadSome(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Connection::Shutdown() { shutdown(fd_, SHUT_RDWR); }

absl::Status Connection::ParseBuffered() {
  while (begin_ < end_) {
    if (skip_ > 0) {
      const int64_t take = std::min(skip_, static_cast<int64_t>(end_ - begin_));
      begin_ += static_cast<std::size_t>(take);
      skip_ -= take;
      continue;
    }
    const char* start = in_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (newline == nullptr) {
      if (end_ - begin_ > kMaxLineBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("a protocol line longer than ", kMaxLineBytes, " bytes"));
      }
      break;  // the rest of the line is still on its way
    }
    std::string_view line(start, static_cast<std::size_t>(newline - start));
    begin_ += line.size() + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (absl::Status s = HandleLine(line); !s.ok()) return s;
  }
  if (begin_ == end_) begin_ = end_ = 0;
  return absl::OkStatus();
}

absl::Status Connection::HandleLine(std::string_view line) {
  if (line.starts_with("MSG ") && has_info_) {
    // MSG <subject> <sid> [reply-to] <#bytes>: the size is the last field.
    int64_t size = -1;
    if (!ParseInt(line.substr(line.rfind(' ') + 1), size) || size < 0) {
      return absl::InvalidArgumentError(absl::StrCat("malformed MSG line: ", Shorten(line)));
    }
    ++counts_.messages;
    counts_.payload_bytes += size;
    counts_.min_payload_bytes = std::min(counts_.min_payload_bytes, size);
    counts_.max_payload_bytes = std::max(counts_.max_payload_bytes, size);
    skip_ = size + 2;  // the payload and its CRLF
    return absl::OkStatus();
  }
  if (line.starts_with("INFO ")) return HandleInfo(line.substr(5));
  if (!has_info_) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected INFO from a NATS server, got: ", Shorten(line)));
  }
  if (line == "PING") {
    pong_due_ = true;
    return absl::OkStatus();
  }
  if (line == "PONG") {
    if (++counts_.pongs > pings_sent_) return absl::InvalidArgumentError("PONG without a PING");
    return absl::OkStatus();
  }
  if (line == "+OK") return absl::OkStatus();
  if (line.starts_with("-ERR")) {
    return absl::UnavailableError(absl::StrCat("the server sent ", Shorten(line)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unexpected line from the server: ", Shorten(line)));
}

absl::Status Connection::HandleInfo(std::string_view json) {
  // The server may send INFO again later (cluster changes); keep what an update leaves out.
  if (const std::string_view version = JsonValue(json, "version"); !version.empty()) {
    server_version_ = std::string(version);
  }
  if (int64_t max_payload = 0; ParseInt(JsonValue(json, "max_payload"), max_payload)) {
    max_payload_ = max_payload;
  }
  if (JsonValue(json, "auth_required") == "true") {
    return absl::FailedPreconditionError("the NATS server requires authentication; not supported");
  }
  if (JsonValue(json, "tls_required") == "true") {
    return absl::FailedPreconditionError("the NATS server requires TLS; not supported");
  }
  if (server_version_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("INFO without a server version: ", Shorten(json)));
  }
  has_info_ = true;
  return absl::OkStatus();
}

}  // namespace ringcast::bench::nats
