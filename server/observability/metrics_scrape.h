// Scraping /metrics the way Prometheus does: an HTTP GET over a real TCP connection, and a parser
// of the text exposition format (0.0.4) good enough to check every sample the server writes.
#ifndef RINGCAST_SERVER_OBSERVABILITY_METRICS_SCRAPE_H_
#define RINGCAST_SERVER_OBSERVABILITY_METRICS_SCRAPE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ringcast::testing {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // as written: with _bucket, _sum, _count for histograms
  Labels labels;
  double value = 0;
};

class Exposition {
 public:
  // INVALID_ARGUMENT naming the line that does not parse.
  static absl::StatusOr<Exposition> Parse(const std::string& text);

  // The sample `name` with exactly `labels`, if present.
  [[nodiscard]] std::optional<double> Value(const std::string& name,
                                            const Labels& labels = {}) const;
  // Value, or 0 when the sample is absent (a counter that does not exist yet).
  [[nodiscard]] double ValueOr0(const std::string& name, const Labels& labels = {}) const;
  // Every value label `label` takes in the samples of family `family` (all families if empty).
  [[nodiscard]] std::set<std::string> LabelValues(const std::string& label,
                                                  const std::string& family = "") const;
  // The samples whose name starts with `prefix`.
  [[nodiscard]] std::vector<Sample> SamplesOf(const std::string& prefix) const;
  // The TYPE line of `family` ("counter", "gauge", "histogram", ...), or empty.
  [[nodiscard]] std::string TypeOf(const std::string& family) const;
  // Every family with a TYPE line.
  [[nodiscard]] std::set<std::string> Families() const;

  [[nodiscard]] const std::vector<Sample>& samples() const { return samples_; }
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<Sample> samples_;
  std::map<std::string, std::string> types_;
};

// GET http://127.0.0.1:<port><path>; the body if the status is 200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// GET /metrics and parse it.
absl::StatusOr<Exposition> Scrape(int port);

}  // namespace ringcast::testing

#endif  // RINGCAST_SERVER_OBSERVABILITY_METRICS_SCRAPE_H_
