// ringcast: the command-line tool. Topics, publishing (lines, a file, or generated load),
// subscribing (text or JSON lines) and server figures, over the client library.
//
// Exit codes: 0 success; 1 the operation failed (the server's or the network's error, printed as
// "ringcast: CODE: message"); 2 a usage error (unknown command or flag, bad value).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "args.h"
#include "ringcast/client/connection.h"
#include "ringcast/client/publisher.h"
#include "ringcast/client/subscriber.h"
#include "ringcast/client/topic_admin.h"

namespace ringcast::cli {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

const std::vector<FlagSpec> kCommonFlags = {
    {"server", "HOST:PORT", "the ringcast server", "localhost:7470"},
    {"timeout", "DURATION", "deadline of each topic call", "10s"},
    {"tls", "", "connect with TLS", ""},
    {"tls_ca", "FILE", "PEM CA certificate to check the server with (default: system roots)", ""},
    {"tls_cert", "FILE", "PEM client certificate", ""},
    {"tls_key", "FILE", "PEM client key", ""},
    {"tls_server_name", "NAME", "name to check in the server's certificate", ""},
    {"token", "TOKEN", "bearer token for a server with an auth file (default: $RINGCAST_TOKEN)",
     ""},
    {"format", "text|json", "output format", "text"},
    {"help", "", "show this help", ""},
};

struct Command {
  std::string name;  // "topics create"
  std::string usage;
  std::string summary;
  std::vector<FlagSpec> flags;  // besides kCommonFlags
  int (*run)(const Args&);
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "ringcast: %s\nRun 'ringcast help' for the commands.\n", message.c_str());
  return kExitUsage;
}

int Failed(const absl::Status& status) {
  std::fprintf(stderr, "ringcast: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return kExitFailed;
}

using Json = nlohmann::ordered_json;  // keys print in the order they are set

// Prints `object` as one line of JSON. Bytes that are not UTF-8 (a key, a header) print as U+FFFD.
void PrintJson(const Json& object) {
  const std::string line =
      object.dump(/*indent=*/-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

// True if `s` is UTF-8 as the JSON writer judges it (strictly, RFC 3629: no overlong forms, no
// surrogates), so that it prints as a string unchanged. The library reports bad UTF-8 only by
// throwing.
bool IsUtf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

// --token, else $RINGCAST_TOKEN (which keeps the token out of the process list and shell history).
std::string Token(const Args& args) {
  if (std::string token = args.Get("token"); !token.empty()) return token;
  const char* from_environment = std::getenv("RINGCAST_TOKEN");
  return from_environment != nullptr ? from_environment : "";
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(const Args& args) {
  return client::Connect({.target = args.Get("server"),
                          .tls = args.GetBool("tls"),
                          .tls_ca_file = args.Get("tls_ca"),
                          .tls_cert_file = args.Get("tls_cert"),
                          .tls_key_file = args.Get("tls_key"),
                          .tls_server_name = args.Get("tls_server_name"),
                          .token = Token(args)});
}

absl::StatusOr<client::TopicAdmin> Admin(const Args& args) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(args);
  if (!channel.ok()) return channel.status();
  absl::StatusOr<absl::Duration> timeout = args.GetDuration("timeout");
  if (!timeout.ok()) return timeout.status();
  return client::TopicAdmin(*channel, *timeout);
}

void PrintTopics(const Args& args, const std::vector<v1::Topic>& topics) {
  if (args.Get("format") == "json") {
    for (const v1::Topic& t : topics) {
      PrintJson({{"name", t.name()},
                 {"capacity", t.capacity()},
                 {"next_sequence", t.next_sequence()},
                 {"oldest_sequence", t.oldest_sequence()},
                 {"subscribers", t.subscribers()},
                 {"publish_streams", t.publish_streams()},
                 // four decimals, as the ratio has always been printed
                 {"backpressure_ratio", std::round(t.backpressure_ratio() * 1e4) / 1e4},
                 {"bytes", t.bytes()},
                 {"max_bytes", t.max_bytes()}});
    }
    return;
  }
  absl::PrintF("%-24s %10s %14s %14s %11s %10s %12s %11s %11s\n", "TOPIC", "CAPACITY", "NEXT",
               "OLDEST", "SUBSCRIBERS", "PUBLISHERS", "BACKPRESSURE", "BYTES", "MAX_BYTES");
  for (const v1::Topic& t : topics) {
    absl::PrintF("%-24s %10d %14d %14d %11d %10d %11.1f%% %11d %11d\n", t.name(), t.capacity(),
                 t.next_sequence(), t.oldest_sequence(), t.subscribers(), t.publish_streams(),
                 100 * t.backpressure_ratio(), t.bytes(), t.max_bytes());
  }
}

// Exactly `n` positional arguments, or a usage error.
bool NeedPositional(const Args& args, std::size_t n, const char* what, int& exit_code) {
  if (args.positional().size() == n) return true;
  exit_code = Usage(args.positional().size() < n
                        ? absl::StrCat("missing ", what)
                        : absl::StrCat("unexpected argument '", args.positional()[n], "'"));
  return false;
}

int TopicsCreate(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 1, "topic name", code)) return code;
  absl::StatusOr<int64_t> capacity = args.GetInt("capacity");
  if (!capacity.ok() || *capacity < 0 || *capacity > UINT32_MAX) {
    return Usage("--capacity must be a number of slots (a power of two), or 0 for the default");
  }
  absl::StatusOr<int64_t> max_bytes = args.GetInt("max_bytes");
  if (!max_bytes.ok() || *max_bytes < 0) {
    return Usage("--max_bytes must be a number of bytes, or 0 for the server's default");
  }
  absl::StatusOr<client::TopicAdmin> admin = Admin(args);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<v1::Topic> topic = admin->Create(
      args.positional()[0], static_cast<uint32_t>(*capacity), static_cast<uint64_t>(*max_bytes));
  if (!topic.ok()) return Failed(topic.status());
  PrintTopics(args, {*topic});
  return 0;
}

int TopicsGet(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 1, "topic name", code)) return code;
  absl::StatusOr<client::TopicAdmin> admin = Admin(args);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<v1::Topic> topic = admin->Get(args.positional()[0]);
  if (!topic.ok()) return Failed(topic.status());
  PrintTopics(args, {*topic});
  return 0;
}

// Lists every topic; with `totals`, adds a line of totals in text format.
int ListTopics(const Args& args, bool totals) {
  int code = 0;
  if (!NeedPositional(args, 0, "", code)) return code;
  absl::StatusOr<client::TopicAdmin> admin = Admin(args);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<std::vector<v1::Topic>> topics = admin->List();
  if (!topics.ok()) return Failed(topics.status());
  PrintTopics(args, *topics);
  if (totals && args.Get("format") != "json") {
    uint64_t subscribers = 0;
    uint64_t publishers = 0;
    for (const v1::Topic& t : *topics) {
      subscribers += t.subscribers();
      publishers += t.publish_streams();
    }
    absl::PrintF("%d topics, %d subscriptions, %d topic publish streams on %s\n", topics->size(),
                 subscribers, publishers, args.Get("server"));
  }
  return 0;
}

int TopicsList(const Args& args) { return ListTopics(args, /*totals=*/false); }

int TopicsDelete(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 1, "topic name", code)) return code;
  absl::StatusOr<client::TopicAdmin> admin = Admin(args);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  if (absl::Status s = admin->Delete(args.positional()[0]); !s.ok()) return Failed(s);
  if (args.Get("format") == "json") {
    PrintJson({{"deleted", args.positional()[0]}});
  } else {
    absl::PrintF("deleted topic %s\n", args.positional()[0]);
  }
  return 0;
}

// A progress line on stderr, redrawn at most every 100 ms while stderr is a terminal.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
  void Update(int64_t done, bool final = false) {
    if (!tty_) return;
    const absl::Time now = absl::Now();
    if (!final && now - last_ < absl::Milliseconds(100)) return;
    last_ = now;
    const double rate = done / std::max(1e-9, absl::ToDoubleSeconds(now - start_));
    if (total_ > 0) {
      const int filled = static_cast<int>(30 * done / total_);
      absl::FPrintF(stderr, "\r[%s%s] %3d%% %d/%d  %.0f events/s ", std::string(filled, '#'),
                    std::string(30 - filled, ' '), 100 * done / total_, done, total_, rate);
    } else {
      absl::FPrintF(stderr, "\r%d events  %.0f events/s ", done, rate);
    }
    if (final) std::fputc('\n', stderr);
  }

 private:
  const int64_t total_;
  const bool tty_;
  const absl::Time start_ = absl::Now();
  absl::Time last_ = absl::InfinitePast();
};

int Publish(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 1, "topic", code)) return code;
  const std::string topic = args.positional()[0];
  const bool generate = args.Has("count");
  if (generate && args.Has("file")) return Usage("--count generates events: it excludes --file");
  absl::StatusOr<int64_t> count = args.GetInt("count");
  absl::StatusOr<int64_t> size = args.GetInt("size");
  absl::StatusOr<double> rate = args.GetDouble("rate");
  absl::StatusOr<int64_t> batch = args.GetInt("batch");
  absl::StatusOr<absl::Duration> linger = args.GetDuration("linger");
  if (generate && (!count.ok() || *count < 0)) return Usage("--count must be a number >= 0");
  if (!size.ok() || *size < 0) return Usage("--size must be a number of bytes >= 0");
  if (!rate.ok() || *rate < 0) return Usage("--rate must be events per second >= 0 (0: no limit)");
  if (!batch.ok() || *batch < 1) return Usage("--batch must be at least 1");
  if (!linger.ok()) return Usage(std::string(linger.status().message()));

  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.Has("file") && args.Get("file") != "-") {
    file.open(args.Get("file"));
    if (!file) return Usage(absl::StrCat("cannot read ", args.Get("file")));
    in = &file;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(args);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  absl::StatusOr<std::unique_ptr<client::Publisher>> publisher = client::Publisher::Create(
      *channel, {.max_batch_events = static_cast<uint32_t>(*batch), .linger = *linger});
  if (!publisher.ok()) return Usage(std::string(publisher.status().message()));

  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::atomic<uint64_t> first_sequence{UINT64_MAX};
  std::atomic<uint64_t> last_sequence{0};
  absl::Status first_error;
  std::mutex error_mu;
  const auto on_result = [&](absl::StatusOr<uint64_t> r) {
    if (r.ok()) {
      acked.fetch_add(1);
      uint64_t seen = first_sequence.load();
      while (*r < seen && !first_sequence.compare_exchange_weak(seen, *r)) {
      }
      seen = last_sequence.load();
      while (*r > seen && !last_sequence.compare_exchange_weak(seen, *r)) {
      }
      return;
    }
    failed.fetch_add(1);
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.ok()) first_error = r.status();
  };

  Progress progress(generate ? *count : 0);
  const absl::Time start = absl::Now();
  const std::string key = args.Get("key");
  int64_t sent = 0;
  const auto publish = [&](std::string payload) {
    v1::EventInput event;
    event.set_key(key);
    event.set_payload(std::move(payload));
    (*publisher)->Publish(topic, std::move(event), on_result);
    ++sent;
    if (*rate > 0) {  // open loop: event n goes out at start + n / rate
      const absl::Time due = start + absl::Seconds(static_cast<double>(sent) / *rate);
      if (const absl::Duration wait = due - absl::Now(); wait > absl::ZeroDuration()) {
        absl::SleepFor(wait);
      }
    }
    progress.Update(sent);
  };
  if (generate) {
    for (int64_t i = 0; i < *count; ++i) {
      std::string payload = absl::StrCat(i);
      payload.resize(static_cast<std::size_t>(*size), '.');
      publish(std::move(payload));
    }
  } else {
    for (std::string line; std::getline(*in, line);) publish(std::move(line));
  }
  (*publisher)->Close();
  progress.Update(sent, /*final=*/true);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (args.Get("format") == "json") {
    const bool any = acked.load() > 0;
    PrintJson({{"topic", topic},
               {"published", acked.load()},
               {"failed", failed.load()},
               {"first_sequence", any ? Json(first_sequence.load()) : Json()},
               {"last_sequence", any ? Json(last_sequence.load()) : Json()},
               {"seconds", std::round(seconds * 1e3) / 1e3},
               {"events_per_sec", std::llround(acked.load() / std::max(seconds, 1e-9))}});
  } else {
    absl::FPrintF(stderr, "published %d events to %s", acked.load(), topic);
    if (acked.load() > 0) {
      absl::FPrintF(stderr, " (sequences %d..%d)", first_sequence.load(), last_sequence.load());
    }
    absl::FPrintF(stderr, " in %.3f s, %.0f events/s\n", seconds,
                  acked.load() / std::max(seconds, 1e-9));
  }
  if (failed.load() > 0) {
    absl::FPrintF(stderr, "%d events failed; first error:\n", failed.load());
    return Failed(first_error);
  }
  return 0;
}

int Subscribe(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 1, "topic", code)) return code;
  client::SubscriberOptions options{.topic = args.positional()[0]};
  const std::string from = args.Get("from");
  if (from == "latest") {
    options.start = client::SubscriberOptions::Start::kLatest;
  } else if (from == "earliest") {
    options.start = client::SubscriberOptions::Start::kEarliest;
  } else if (uint64_t sequence = 0; absl::SimpleAtoi(from, &sequence)) {
    options.start = client::SubscriberOptions::Start::kSequence;
    options.from_sequence = sequence;
  } else if (absl::StartsWith(from, "time:")) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, from.substr(5), &options.from_time, &error)) {
      return Usage(absl::StrCat("--from=", from, ": expected time:RFC3339 such as ",
                                "time:2026-12-05T18:00:00Z (", error, ")"));
    }
    options.start = client::SubscriberOptions::Start::kTime;
  } else {
    return Usage(
        absl::StrCat("--from=", from, ": expected latest, earliest, a sequence or time:RFC3339"));
  }
  const std::string mode = args.Get("mode");
  if (mode != "reliable" && mode != "lossy") {
    return Usage(absl::StrCat("--mode=", mode, ": expected reliable or lossy"));
  }
  options.lossy = mode == "lossy";
  const std::string format = args.Get("format");
  if (format != "text" && format != "json") {
    return Usage(absl::StrCat("--format=", format, ": expected text or json"));
  }
  absl::StatusOr<int64_t> count = args.GetInt("count");
  if (!count.ok() || *count < 0) return Usage("--count must be a number >= 0 (0: until stopped)");

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(args);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  absl::StatusOr<std::unique_ptr<client::Subscriber>> subscriber =
      client::Subscriber::Start(*channel, options);
  if (!subscriber.ok()) return Failed(subscriber.status());

  int64_t received = 0;
  const absl::Status ended = (*subscriber)->Run([&](const client::Delivery& d) {
    if (d.skipped > 0) {
      if (format == "json") {
        PrintJson({{"skipped", d.skipped}});
      } else {
        absl::FPrintF(stderr, "ringcast: skipped %d events (LOSSY subscriber fell behind)\n",
                      d.skipped);
      }
    }
    for (const v1::Event& e : d.events) {
      if (format == "json") {
        Json event = {{"sequence", e.sequence()},
                      {"publish_time_unix_nanos", e.publish_time_unix_nanos()},
                      {"key", e.key()}};
        if (IsUtf8(e.payload())) {
          event["payload"] = e.payload();
        } else {
          event["payload_base64"] = absl::Base64Escape(e.payload());
        }
        event["headers"] = Json::object();
        for (const auto& [name, value] : e.headers()) event["headers"][name] = value;
        PrintJson(event);
      } else {
        std::fwrite(e.payload().data(), 1, e.payload().size(), stdout);
        std::fputc('\n', stdout);
      }
      if (*count > 0 && ++received >= *count) return false;
    }
    std::fflush(stdout);
    return true;
  });
  std::fflush(stdout);
  if (!ended.ok()) return Failed(ended);
  return 0;
}

int Stats(const Args& args) { return ListTopics(args, /*totals=*/true); }

int Health(const Args& args) {
  int code = 0;
  if (!NeedPositional(args, 0, "", code)) return code;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(args);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  absl::StatusOr<absl::Duration> timeout = args.GetDuration("timeout");
  if (!timeout.ok()) return Usage(std::string(timeout.status().message()));
  absl::StatusOr<bool> serving = client::CheckHealth(*channel, *timeout);
  if (!serving.ok()) return Failed(serving.status());
  absl::PrintF("%s\n", *serving ? "SERVING" : "NOT_SERVING");
  return *serving ? 0 : kExitFailed;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"topics create",
       "ringcast topics create NAME [--capacity=N] [--max_bytes=N]",
       "create a topic (capacity: ring slots, a power of two; max_bytes: its byte budget; 0 = "
       "server default)",
       {{"capacity", "N", "ring slots", "0"}, {"max_bytes", "N", "bytes the ring may hold", "0"}},
       TopicsCreate},
      {"topics get", "ringcast topics get NAME", "show one topic", {}, TopicsGet},
      {"topics list", "ringcast topics list", "list every topic", {}, TopicsList},
      {"topics delete",
       "ringcast topics delete NAME",
       "delete a topic (its subscribers end with NOT_FOUND)",
       {},
       TopicsDelete},
      {"publish",
       "ringcast publish TOPIC [--file=PATH] [--key=KEY]\n"
       "       ringcast publish TOPIC --count=N [--size=BYTES] [--rate=EVENTS_PER_S]",
       "publish one event per line of stdin or --file, or --count generated events",
       {{"file", "PATH", "read lines from this file instead of stdin ('-' = stdin)", ""},
        {"key", "KEY", "key of every event", ""},
        {"count", "N", "generate N events instead of reading lines", ""},
        {"size", "BYTES", "payload size of generated events", "64"},
        {"rate", "EVENTS_PER_S", "publish at this rate (0: as fast as possible)", "0"},
        {"batch", "N", "most events per batch", "512"},
        {"linger", "DURATION", "longest wait to fill a batch", "5ms"}},
       Publish},
      {"subscribe",
       "ringcast subscribe TOPIC [--from=latest|earliest|N|time:RFC3339] [--mode=reliable|lossy] "
       "[--format=text|json] [--count=N]",
       "print a topic's events: text (one payload per line) or JSON lines",
       {{"from", "latest|earliest|N|time:RFC3339",
         "where to start (time: the first event published at or after it)", "latest"},
        {"mode", "reliable|lossy", "delivery mode", "reliable"},
        {"count", "N", "stop after N events (0: run until interrupted)", "0"}},
       Subscribe},
      {"stats", "ringcast stats", "every topic's figures and the totals", {}, Stats},
      {"health",
       "ringcast health",
       "the server's grpc.health.v1 status: exit 0 if SERVING, 1 otherwise (for health checks)",
       {},
       Health},
  };
  return commands;
}

std::string CommandHelp(const Command& c) {
  std::vector<FlagSpec> flags = c.flags;
  flags.insert(flags.end(), kCommonFlags.begin(), kCommonFlags.end());
  return absl::StrCat("usage: ", c.usage, "\n\n", c.summary, "\n\nflags:\n", FlagHelp(flags));
}

std::string GeneralHelp() {
  std::string text =
      "ringcast: the command-line tool of the ringcast event service\n\n"
      "usage: ringcast COMMAND [ARGS] [--flags]\n\ncommands:\n";
  for (const Command& c : Commands())
    absl::StrAppend(&text, absl::StrFormat("  %-15s %s\n", c.name, c.summary));
  absl::StrAppend(&text, "  help [COMMAND]  this help, or a command's\n\ncommon flags:\n",
                  FlagHelp(kCommonFlags),
                  "\nexit codes: 0 success, 1 the operation failed, 2 usage error\n");
  return text;
}

int Main(int argc, char** argv) {
  std::vector<std::string> all(argv + 1, argv + argc);
  // The command words are the first arguments that are not flags (flags may come before them).
  std::vector<std::string> words;
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string& a = all[i];
    if (absl::StartsWith(a, "--") || words.size() >= 2) {
      rest.push_back(a);
      // A common flag before the command, its value as the next argument: take both.
      const auto spec = std::find_if(kCommonFlags.begin(), kCommonFlags.end(),
                                     [&](const FlagSpec& f) { return a == "--" + f.name; });
      if (words.empty() && spec != kCommonFlags.end() && !spec->value.empty() &&
          i + 1 < all.size()) {
        rest.push_back(all[++i]);
      }
      continue;
    }
    const bool two_words = words.size() == 1 && words[0] == "topics";
    if (words.empty() || two_words || (words.size() == 1 && words[0] == "help")) {
      words.push_back(a);
    } else {
      rest.push_back(a);
    }
  }
  const bool wants_help = std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
                          std::find(rest.begin(), rest.end(), "-h") != rest.end();
  if (words.empty()) {
    if (wants_help) {
      std::fputs(GeneralHelp().c_str(), stdout);
      return 0;
    }
    return Usage("no command given");
  }
  if (words[0] == "help") {
    if (words.size() == 1) {
      std::fputs(GeneralHelp().c_str(), stdout);
      return 0;
    }
    words.erase(words.begin());
    rest.push_back("--help");
  }
  const std::string name = absl::StrJoin(words, " ");
  for (const Command& c : Commands()) {
    if (c.name != name && !(c.name == "topics list" && name == "topics")) continue;
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
        std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
      std::fputs(CommandHelp(c).c_str(), stdout);
      return 0;
    }
    std::vector<FlagSpec> flags = c.flags;
    flags.insert(flags.end(), kCommonFlags.begin(), kCommonFlags.end());
    absl::StatusOr<Args> args = Args::Parse(rest, flags);
    if (!args.ok()) return Usage(absl::StrCat(name, ": ", args.status().message()));
    return c.run(*args);
  }
  return Usage(absl::StrCat("unknown command '", name, "'"));
}

}  // namespace
}  // namespace ringcast::cli

int main(int argc, char** argv) { return ringcast::cli::Main(argc, argv); }
