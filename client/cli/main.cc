// ringcast: the command-line tool. Topics, publishing (lines, a file, or generated load),
// subscribing (text or JSON lines) and server figures, over the client library. The command line
// is parsed by CLI11: a command (two words for topics), its arguments, and flags before or after
// the command words.
//
// Exit codes: 0 success; 1 the operation failed (the server's or the network's error, printed as
// "ringcast: CODE: message"); 2 a usage error (unknown command or flag, bad value).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringcast/client/connection.h"
#include "ringcast/client/publisher.h"
#include "ringcast/client/subscriber.h"
#include "ringcast/client/topic_admin.h"

namespace ringcast::cli {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The flags every command takes, before or after the command words.
struct CommonFlags {
  std::string server = "localhost:7470";
  absl::Duration timeout = absl::Seconds(10);
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string token;  // --token, else $RINGCAST_TOKEN (out of the process list and shell history)
  std::string format = "text";
};

struct TopicFlags {
  std::string name;
  uint32_t capacity = 0;
  uint64_t max_bytes = 0;
};

struct PublishFlags {
  std::string topic;
  std::optional<std::string> file;
  std::string key;
  std::optional<int64_t> count;
  int64_t size = 64;
  double rate = 0;
  uint32_t batch = 512;
  absl::Duration linger = absl::Milliseconds(5);
};

struct SubscribeFlags {
  std::string topic;
  std::string from = "latest";
  std::string mode = "reliable";
  int64_t count = 0;
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

absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(const CommonFlags& common) {
  return client::Connect({.target = common.server,
                          .tls = common.tls,
                          .tls_ca_file = common.tls_ca,
                          .tls_cert_file = common.tls_cert,
                          .tls_key_file = common.tls_key,
                          .tls_server_name = common.tls_server_name,
                          .token = common.token});
}

absl::StatusOr<client::TopicAdmin> Admin(const CommonFlags& common) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(common);
  if (!channel.ok()) return channel.status();
  return client::TopicAdmin(*channel, common.timeout);
}

void PrintTopics(const CommonFlags& common, const std::vector<v1::Topic>& topics) {
  if (common.format == "json") {
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

int TopicsCreate(const CommonFlags& common, const TopicFlags& flags) {
  if (flags.name.empty()) return Usage("missing topic name");
  absl::StatusOr<client::TopicAdmin> admin = Admin(common);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<v1::Topic> topic = admin->Create(flags.name, flags.capacity, flags.max_bytes);
  if (!topic.ok()) return Failed(topic.status());
  PrintTopics(common, {*topic});
  return 0;
}

int TopicsGet(const CommonFlags& common, const TopicFlags& flags) {
  if (flags.name.empty()) return Usage("missing topic name");
  absl::StatusOr<client::TopicAdmin> admin = Admin(common);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<v1::Topic> topic = admin->Get(flags.name);
  if (!topic.ok()) return Failed(topic.status());
  PrintTopics(common, {*topic});
  return 0;
}

// Lists every topic; with `totals`, adds a line of totals in text format.
int ListTopics(const CommonFlags& common, bool totals) {
  absl::StatusOr<client::TopicAdmin> admin = Admin(common);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  absl::StatusOr<std::vector<v1::Topic>> topics = admin->List();
  if (!topics.ok()) return Failed(topics.status());
  PrintTopics(common, *topics);
  if (totals && common.format != "json") {
    uint64_t subscribers = 0;
    uint64_t publishers = 0;
    for (const v1::Topic& t : *topics) {
      subscribers += t.subscribers();
      publishers += t.publish_streams();
    }
    absl::PrintF("%d topics, %d subscriptions, %d topic publish streams on %s\n", topics->size(),
                 subscribers, publishers, common.server);
  }
  return 0;
}

int TopicsDelete(const CommonFlags& common, const TopicFlags& flags) {
  if (flags.name.empty()) return Usage("missing topic name");
  absl::StatusOr<client::TopicAdmin> admin = Admin(common);
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  if (absl::Status s = admin->Delete(flags.name); !s.ok()) return Failed(s);
  if (common.format == "json") {
    PrintJson({{"deleted", flags.name}});
  } else {
    absl::PrintF("deleted topic %s\n", flags.name);
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

int Publish(const CommonFlags& common, const PublishFlags& flags) {
  if (flags.topic.empty()) return Usage("missing topic");
  const std::string& topic = flags.topic;
  const bool generate = flags.count.has_value();
  if (generate && flags.file.has_value()) {
    return Usage("--count generates events: it excludes --file");
  }
  if (generate && *flags.count < 0) return Usage("--count must be a number >= 0");
  if (flags.size < 0) return Usage("--size must be a number of bytes >= 0");
  if (flags.rate < 0) return Usage("--rate must be events per second >= 0 (0: no limit)");
  if (flags.batch < 1) return Usage("--batch must be at least 1");

  std::ifstream file;
  std::istream* in = &std::cin;
  if (flags.file.has_value() && *flags.file != "-") {
    file.open(*flags.file);
    if (!file) return Usage(absl::StrCat("cannot read ", *flags.file));
    in = &file;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(common);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  absl::StatusOr<std::unique_ptr<client::Publisher>> publisher = client::Publisher::Create(
      *channel, {.max_batch_events = flags.batch, .linger = flags.linger});
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

  Progress progress(generate ? *flags.count : 0);
  const absl::Time start = absl::Now();
  const std::string& key = flags.key;
  int64_t sent = 0;
  const auto publish = [&](std::string payload) {
    v1::EventInput event;
    event.set_key(key);
    event.set_payload(std::move(payload));
    (*publisher)->Publish(topic, std::move(event), on_result);
    ++sent;
    if (flags.rate > 0) {  // open loop: event n goes out at start + n / rate
      const absl::Time due = start + absl::Seconds(static_cast<double>(sent) / flags.rate);
      if (const absl::Duration wait = due - absl::Now(); wait > absl::ZeroDuration()) {
        absl::SleepFor(wait);
      }
    }
    progress.Update(sent);
  };
  if (generate) {
    for (int64_t i = 0; i < *flags.count; ++i) {
      std::string payload = absl::StrCat(i);
      payload.resize(static_cast<std::size_t>(flags.size), '.');
      publish(std::move(payload));
    }
  } else {
    for (std::string line; std::getline(*in, line);) publish(std::move(line));
  }
  (*publisher)->Close();
  progress.Update(sent, /*final=*/true);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (common.format == "json") {
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

int Subscribe(const CommonFlags& common, const SubscribeFlags& flags) {
  if (flags.topic.empty()) return Usage("missing topic");
  client::SubscriberOptions options{.topic = flags.topic};
  const std::string& from = flags.from;
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
  const std::string& mode = flags.mode;
  if (mode != "reliable" && mode != "lossy") {
    return Usage(absl::StrCat("--mode=", mode, ": expected reliable or lossy"));
  }
  options.lossy = mode == "lossy";
  const std::string& format = common.format;
  if (format != "text" && format != "json") {
    return Usage(absl::StrCat("--format=", format, ": expected text or json"));
  }
  if (flags.count < 0) return Usage("--count must be a number >= 0 (0: until stopped)");

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(common);
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
      if (flags.count > 0 && ++received >= flags.count) return false;
    }
    std::fflush(stdout);
    return true;
  });
  std::fflush(stdout);
  if (!ended.ok()) return Failed(ended);
  return 0;
}

int Health(const CommonFlags& common) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(common);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  absl::StatusOr<bool> serving = client::CheckHealth(*channel, common.timeout);
  if (!serving.ok()) return Failed(serving.status());
  absl::PrintF("%s\n", *serving ? "SERVING" : "NOT_SERVING");
  return *serving ? 0 : kExitFailed;
}

// A --flag=DURATION (10s, 500ms), parsed by Abseil into `value`; its current value is the default.
CLI::Option* AddDuration(CLI::App& app, const std::string& name, absl::Duration& value,
                         const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [&value, name](const std::string& text) {
            if (!absl::ParseDuration(text, &value)) {
              throw CLI::ValidationError(
                  name, absl::StrCat(text, " is not a duration (like 10s or 500ms)"));
            }
          },
          help)
      ->type_name("DURATION")
      ->default_str(absl::FormatDuration(value));
}

// A command as the help lists it; `app` is the CLI11 subcommand that parses it.
struct Command {
  std::string name;  // "topics create"
  std::string usage;
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// The tool's command line: CLI11 apps for the commands, the values their flags parse into, and
// the help, written in the tool's own layout (usage, summary, then flags aligned).
class CommandLine {
 public:
  CommandLine() {
    root_.set_help_flag("-h,--help", "show this help");
    // Flags of the tool given after the command words belong to the tool: every subcommand
    // created from here on passes the flags it does not know to its parent.
    root_.fallthrough();
    root_.formatter_fn(
        [this](const CLI::App* app, const std::string&, CLI::AppFormatMode) { return Help(app); });
    root_.add_option("--server", common_.server, "the ringcast server")
        ->type_name("HOST:PORT")
        ->capture_default_str();
    AddDuration(root_, "--timeout", common_.timeout, "deadline of each topic call");
    root_.add_flag("--tls", common_.tls, "connect with TLS");
    root_
        .add_option("--tls_ca", common_.tls_ca,
                    "PEM CA certificate to check the server with (default: system roots)")
        ->type_name("FILE");
    root_.add_option("--tls_cert", common_.tls_cert, "PEM client certificate")->type_name("FILE");
    root_.add_option("--tls_key", common_.tls_key, "PEM client key")->type_name("FILE");
    root_
        .add_option("--tls_server_name", common_.tls_server_name,
                    "name to check in the server's certificate")
        ->type_name("NAME");
    root_
        .add_option("--token", common_.token,
                    "bearer token for a server with an auth file (default: $RINGCAST_TOKEN)")
        ->type_name("TOKEN")
        ->envname("RINGCAST_TOKEN");
    root_.add_option("--format", common_.format, "output format")
        ->type_name("text|json")
        ->capture_default_str();

    AddTopicCommands();
    AddPublish();
    AddSubscribe();
    Add("stats", "ringcast stats", "every topic's figures and the totals",
        [this] { return ListTopics(common_, /*totals=*/true); });
    Add("health", "ringcast health",
        "the server's grpc.health.v1 status: exit 0 if SERVING, 1 otherwise (for health checks)",
        [this] { return Health(common_); });
    help_ = root_.add_subcommand("help", "this help, or a command's");
  }
  // The apps' callbacks point into this object.
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses argv and runs the command; returns the exit code.
  int Run(int argc, char** argv) {
    try {
      root_.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::fputs(root_.help().c_str(), stdout);  // the help of the command named, if any
      return 0;
    } catch (const CLI::ParseError& e) {
      return Usage(e.what());
    }
    const Command* command = Parsed();
    if (help_->parsed()) {
      // `help COMMAND...`: CLI11 parsed the words after `help` as the command they name.
      std::fputs((command != nullptr ? CommandHelp(*command) : GeneralHelp()).c_str(), stdout);
      return 0;
    }
    if (command != nullptr) return command->run();
    return Usage("no command given");
  }

 private:
  // The command given, or null. `ringcast topics` alone is `topics list`.
  const Command* Parsed() const {
    for (const Command& c : commands_) {
      if (c.app->parsed() ||
          (c.name == "topics list" && topics_->parsed() && topics_->get_subcommands().empty())) {
        return &c;
      }
    }
    return nullptr;
  }

  // A command `name` ("publish", or "topics create" under `parent`).
  CLI::App* Add(const std::string& name, const std::string& usage, const std::string& summary,
                std::function<int()> run, CLI::App* parent = nullptr) {
    const std::string word = name.substr(name.rfind(' ') + 1);
    CLI::App* app = (parent != nullptr ? parent : &root_)->add_subcommand(word, summary);
    commands_.push_back({name, usage, app, std::move(run)});
    return app;
  }

  void AddTopicCommands() {
    topics_ = root_.add_subcommand("topics", "topics: create, get, list, delete");
    topics_->require_subcommand(0, 1);
    CLI::App* create = Add(
        "topics create", "ringcast topics create NAME [--capacity=N] [--max_bytes=N]",
        "create a topic (capacity: ring slots, a power of two; max_bytes: its byte budget; 0 "
        "= server default)",
        [this] { return TopicsCreate(common_, topic_); }, topics_);
    create->add_option("NAME", topic_.name, "topic name");
    create->add_option("--capacity", topic_.capacity, "ring slots")
        ->type_name("N")
        ->capture_default_str();
    create->add_option("--max_bytes", topic_.max_bytes, "bytes the ring may hold")
        ->type_name("N")
        ->capture_default_str();
    Add(
        "topics get", "ringcast topics get NAME", "show one topic",
        [this] { return TopicsGet(common_, topic_); }, topics_)
        ->add_option("NAME", topic_.name, "topic name");
    Add(
        "topics list", "ringcast topics list", "list every topic",
        [this] { return ListTopics(common_, /*totals=*/false); }, topics_);
    Add(
        "topics delete", "ringcast topics delete NAME",
        "delete a topic (its subscribers end with NOT_FOUND)",
        [this] { return TopicsDelete(common_, topic_); }, topics_)
        ->add_option("NAME", topic_.name, "topic name");
  }

  void AddPublish() {
    CLI::App* app =
        Add("publish",
            "ringcast publish TOPIC [--file=PATH] [--key=KEY]\n"
            "       ringcast publish TOPIC --count=N [--size=BYTES] [--rate=EVENTS_PER_S]",
            "publish one event per line of stdin or --file, or --count generated events",
            [this] { return Publish(common_, publish_); });
    app->add_option("TOPIC", publish_.topic, "topic");
    app->add_option("--file", publish_.file,
                    "read lines from this file instead of stdin ('-' = stdin)")
        ->type_name("PATH");
    app->add_option("--key", publish_.key, "key of every event")->type_name("KEY");
    app->add_option("--count", publish_.count, "generate N events instead of reading lines")
        ->type_name("N");
    app->add_option("--size", publish_.size, "payload size of generated events")
        ->type_name("BYTES")
        ->capture_default_str();
    app->add_option("--rate", publish_.rate, "publish at this rate (0: as fast as possible)")
        ->type_name("EVENTS_PER_S")
        ->capture_default_str();
    app->add_option("--batch", publish_.batch, "most events per batch")
        ->type_name("N")
        ->capture_default_str();
    AddDuration(*app, "--linger", publish_.linger, "longest wait to fill a batch");
  }

  void AddSubscribe() {
    CLI::App* app = Add("subscribe",
                        "ringcast subscribe TOPIC [--from=latest|earliest|N|time:RFC3339] "
                        "[--mode=reliable|lossy] [--format=text|json] [--count=N]",
                        "print a topic's events: text (one payload per line) or JSON lines",
                        [this] { return Subscribe(common_, subscribe_); });
    app->add_option("TOPIC", subscribe_.topic, "topic");
    app->add_option("--from", subscribe_.from,
                    "where to start (time: the first event published at or after it)")
        ->type_name("latest|earliest|N|time:RFC3339")
        ->capture_default_str();
    app->add_option("--mode", subscribe_.mode, "delivery mode")
        ->type_name("reliable|lossy")
        ->capture_default_str();
    app->add_option("--count", subscribe_.count, "stop after N events (0: run until interrupted)")
        ->type_name("N")
        ->capture_default_str();
  }

  // One line per flag of `app` ("--name=VALUE", its help and default), without positionals.
  static std::vector<std::pair<std::string, std::string>> FlagLines(const CLI::App& app) {
    std::vector<std::pair<std::string, std::string>> lines;
    for (const CLI::Option* o : app.get_options()) {
      if (!o->nonpositional() || o == app.get_help_ptr()) continue;
      std::string head = absl::StrCat("--", o->get_lnames().front());
      if (o->get_items_expected_max() > 0) absl::StrAppend(&head, "=", o->get_type_name());
      std::string help = o->get_description();
      if (!o->get_default_str().empty())
        absl::StrAppend(&help, " (default ", o->get_default_str(), ")");
      lines.emplace_back(std::move(head), std::move(help));
    }
    return lines;
  }

  std::string FlagHelp(std::vector<std::pair<std::string, std::string>> lines) const {
    lines.emplace_back("--help", root_.get_help_ptr()->get_description());
    std::size_t width = 0;
    for (const auto& line : lines) width = std::max(width, line.first.size());
    std::string text;
    for (const auto& [head, help] : lines) {
      absl::StrAppend(&text, "  ", head, std::string(width - head.size() + 2, ' '), help, "\n");
    }
    return text;
  }

  std::string CommandHelp(const Command& c) const {
    std::vector<std::pair<std::string, std::string>> lines = FlagLines(*c.app);
    for (auto& line : FlagLines(root_)) lines.push_back(std::move(line));
    return absl::StrCat("usage: ", c.usage, "\n\n", c.app->get_description(), "\n\nflags:\n",
                        FlagHelp(std::move(lines)));
  }

  std::string GeneralHelp() const {
    std::string text =
        "ringcast: the command-line tool of the ringcast event service\n\n"
        "usage: ringcast COMMAND [ARGS] [--flags]\n\ncommands:\n";
    for (const Command& c : commands_) {
      absl::StrAppend(&text, absl::StrFormat("  %-15s %s\n", c.name, c.app->get_description()));
    }
    absl::StrAppend(&text, "  help [COMMAND]  ", help_->get_description(), "\n\ncommon flags:\n",
                    FlagHelp(FlagLines(root_)),
                    "\nexit codes: 0 success, 1 the operation failed, 2 usage error\n");
    return text;
  }

  // The help of `app`: a command's, or the tool's.
  std::string Help(const CLI::App* app) const {
    for (const Command& c : commands_) {
      if (c.app == app || (app == topics_ && c.name == "topics list")) return CommandHelp(c);
    }
    return GeneralHelp();
  }

  CLI::App root_{"the command-line tool of the ringcast event service", "ringcast"};
  CLI::App* topics_ = nullptr;
  CLI::App* help_ = nullptr;
  std::vector<Command> commands_;
  CommonFlags common_;
  TopicFlags topic_;
  PublishFlags publish_;
  SubscribeFlags subscribe_;
};

}  // namespace
}  // namespace ringcast::cli

int main(int argc, char** argv) { return ringcast::cli::CommandLine().Run(argc, argv); }
