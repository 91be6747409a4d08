// Command-line arguments of the `ringcast` tool: a command path ("topics create"), positional
// arguments and --flags, each command declaring the flags it accepts, so a misspelt or misplaced
// flag is a clear usage error (exit 2) rather than silently ignored.
#ifndef RINGCAST_CLIENT_CLI_ARGS_H_
#define RINGCAST_CLIENT_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringcast::cli {

struct FlagSpec {
  std::string name;   // without the dashes
  std::string value;  // "" for a boolean flag, else what the value is (for help)
  std::string help;
  std::string fallback;  // the default, as text ("" if none)
};

class Args {
 public:
  // Parses `args` (after the command words) against `flags`: --name=value, --name value, or --name
  // for booleans; "--" ends the flags. INVALID_ARGUMENT naming the offending argument.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& args,
                                    const std::vector<FlagSpec>& flags);

  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }
  [[nodiscard]] bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's value, or its default.
  [[nodiscard]] std::string Get(const std::string& name) const;
  [[nodiscard]] bool GetBool(const std::string& name) const;
  // INVALID_ARGUMENT naming the flag if the value is not a number / a duration.
  [[nodiscard]] absl::StatusOr<int64_t> GetInt(const std::string& name) const;
  [[nodiscard]] absl::StatusOr<double> GetDouble(const std::string& name) const;
  [[nodiscard]] absl::StatusOr<absl::Duration> GetDuration(const std::string& name) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> defaults_;
};

// Help text for a list of flags, one per line, aligned.
std::string FlagHelp(const std::vector<FlagSpec>& flags);

}  // namespace ringcast::cli

#endif  // RINGCAST_CLIENT_CLI_ARGS_H_
