#include "args.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringcast::cli {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& args,
                                 const std::vector<FlagSpec>& flags) {
  Args parsed;
  for (const FlagSpec& f : flags) parsed.defaults_[f.name] = f.fallback;
  const auto find = [&](const std::string& name) -> const FlagSpec* {
    const auto it =
        std::find_if(flags.begin(), flags.end(), [&](const FlagSpec& f) { return f.name == name; });
    return it == flags.end() ? nullptr : &*it;
  };
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || !absl::StartsWith(arg, "--") || arg == "-") {
      parsed.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = find(name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (spec->value.empty()) {  // boolean
      if (value && *value != "true" && *value != "false") {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      parsed.values_[name] = value.value_or("true");
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", spec->value, ")"));
      }
      value = args[++i];
    }
    parsed.values_[name] = *value;
  }
  return parsed;
}

std::string Args::Get(const std::string& name) const {
  if (const auto it = values_.find(name); it != values_.end()) return it->second;
  const auto it = defaults_.find(name);
  return it == defaults_.end() ? "" : it->second;
}

bool Args::GetBool(const std::string& name) const { return Get(name) == "true"; }

absl::StatusOr<int64_t> Args::GetInt(const std::string& name) const {
  int64_t value = 0;
  if (!absl::SimpleAtoi(Get(name), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, "=", Get(name), " is not a number"));
  }
  return value;
}

absl::StatusOr<double> Args::GetDouble(const std::string& name) const {
  double value = 0;
  if (!absl::SimpleAtod(Get(name), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, "=", Get(name), " is not a number"));
  }
  return value;
}

absl::StatusOr<absl::Duration> Args::GetDuration(const std::string& name) const {
  absl::Duration value;
  if (!absl::ParseDuration(Get(name), &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", Get(name), " is not a duration (like 10s or 500ms)"));
  }
  return value;
}

std::string FlagHelp(const std::vector<FlagSpec>& flags) {
  std::size_t width = 0;
  std::vector<std::string> heads;
  for (const FlagSpec& f : flags) {
    heads.push_back(f.value.empty() ? absl::StrCat("--", f.name)
                                    : absl::StrCat("--", f.name, "=", f.value));
    width = std::max(width, heads.back().size());
  }
  std::string text;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    absl::StrAppend(&text, "  ", heads[i], std::string(width - heads[i].size() + 2, ' '),
                    flags[i].help);
    if (!flags[i].fallback.empty()) absl::StrAppend(&text, " (default ", flags[i].fallback, ")");
    text += "\n";
  }
  return text;
}

}  // namespace ringcast::cli
