#include "security/auth_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ringcast::server::security {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxPrincipalNameBytes = 128;
constexpr std::size_t kMaxSubjectBytes = 1024;

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("auth file: ", where, ": ", what));
}

// nlohmann keeps the last of repeated keys; a repeated "deny" would then hide the first one, so
// the parse callback remembers the first key seen twice in one object.
absl::StatusOr<Json> ParseJson(absl::string_view text) {
  std::vector<absl::flat_hash_set<std::string>> open_objects;
  std::string repeated_key;
  const Json::parser_callback_t note_keys = [&](int /*depth*/, Json::parse_event_t event,
                                                Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second && repeated_key.empty()) {
          repeated_key = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text.begin(), text.end(), note_keys);
  } catch (const Json::exception& e) {  // the library reports errors only by throwing
    return absl::InvalidArgumentError(absl::StrCat("auth file is not valid JSON: ", e.what()));
  }
  if (!repeated_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("auth file: the field \"",
                                                   absl::CHexEscape(repeated_key),
                                                   "\" appears twice in an object"));
  }
  return json;
}

// INVALID_ARGUMENT if `object` has a field not in `known`.
absl::Status CheckKnownFields(const Json& object, std::initializer_list<absl::string_view> known,
                              absl::string_view where) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (const absl::string_view k : known) found = found || key == k;
    if (!found) {
      return Invalid(where, absl::StrCat("unknown field \"", absl::CHexEscape(key),
                                         "\" (known fields: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// The strings of the array `object[field]`; empty if the field is absent.
absl::StatusOr<std::vector<std::string>> StringArray(const Json& object, absl::string_view field,
                                                     absl::string_view where) {
  std::vector<std::string> strings;
  const auto it = object.find(field);
  if (it == object.end()) return strings;
  if (!it->is_array()) {
    return Invalid(where, absl::StrCat("\"", field, "\" must be an array of strings"));
  }
  for (const Json& element : *it) {
    if (!element.is_string()) {
      return Invalid(where, absl::StrCat("\"", field, "\" must be an array of strings"));
    }
    strings.push_back(element.get<std::string>());
  }
  return strings;
}

absl::Status CheckPrincipalName(absl::string_view name, absl::string_view where) {
  if (name.empty() || name.size() > kMaxPrincipalNameBytes) {
    return Invalid(where, "\"name\" must be 1 to 128 characters long");
  }
  for (const char c : name) {
    if (c <= ' ' || c > '~') {
      return Invalid(where, absl::StrCat("\"name\" \"", absl::CHexEscape(name),
                                         "\" must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSubject(absl::string_view subject, absl::string_view where, std::size_t index) {
  const std::string field = absl::StrCat("certificate_subjects[", index, "]");
  if (subject.empty() || subject.size() > kMaxSubjectBytes) {
    return Invalid(where, absl::StrCat(field, " must be 1 to 1024 bytes long"));
  }
  for (const char c : subject) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(where, absl::StrCat(field, " \"", absl::CHexEscape(subject),
                                         "\" has a control character"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RightsSpec> ParseRights(const Json& object, absl::string_view field,
                                       absl::string_view where) {
  RightsSpec rights;
  const auto it = object.find(field);
  if (it == object.end()) return rights;
  const std::string here = absl::StrCat(where, ": \"", field, "\"");
  if (!it->is_object()) return Invalid(here, "must be an object");
  if (absl::Status s = CheckKnownFields(*it, {"publish", "subscribe", "admin"}, here); !s.ok()) {
    return s;
  }
  for (const Action action : kActions) {
    absl::StatusOr<std::vector<std::string>> texts = StringArray(*it, ActionName(action), here);
    if (!texts.ok()) return texts.status();
    for (const std::string& text : *texts) {
      absl::StatusOr<TopicPattern> pattern = TopicPattern::Parse(text);
      if (!pattern.ok()) {
        return Invalid(here,
                       absl::StrCat("\"", ActionName(action), "\": ", pattern.status().message()));
      }
      rights.For(action).push_back(*std::move(pattern));
    }
  }
  return rights;
}

absl::StatusOr<PrincipalSpec> ParsePrincipal(const Json& object, std::size_t index) {
  std::string where = absl::StrCat("principals[", index, "]");
  if (!object.is_object()) return Invalid(where, "must be an object");
  const auto name = object.find("name");
  if (name == object.end() || !name->is_string()) {
    return Invalid(where, "needs a \"name\" string");
  }
  PrincipalSpec spec;
  spec.name = name->get<std::string>();
  if (absl::Status s = CheckPrincipalName(spec.name, where); !s.ok()) return s;
  where = absl::StrCat("principal \"", spec.name, "\"");
  if (absl::Status s = CheckKnownFields(
          object, {"name", "tokens_sha256", "certificate_subjects", "allow", "deny"}, where);
      !s.ok()) {
    return s;
  }

  absl::StatusOr<std::vector<std::string>> hashes = StringArray(object, "tokens_sha256", where);
  if (!hashes.ok()) return hashes.status();
  for (std::size_t i = 0; i < hashes->size(); ++i) {
    std::optional<TokenDigest> digest = ParseTokenDigestHex((*hashes)[i]);
    // Never quoted: an operator who pasted the token itself would see it in the log.
    if (!digest) {
      return Invalid(where, absl::StrCat("tokens_sha256[", i,
                                         "] is not 64 hex characters (the SHA-256 of a token, "
                                         "not the token itself)"));
    }
    spec.token_digests.push_back(*digest);
  }

  absl::StatusOr<std::vector<std::string>> subjects =
      StringArray(object, "certificate_subjects", where);
  if (!subjects.ok()) return subjects.status();
  for (std::size_t i = 0; i < subjects->size(); ++i) {
    if (absl::Status s = CheckSubject((*subjects)[i], where, i); !s.ok()) return s;
  }
  spec.certificate_subjects = *std::move(subjects);

  absl::StatusOr<RightsSpec> allow = ParseRights(object, "allow", where);
  if (!allow.ok()) return allow.status();
  spec.allow = *std::move(allow);
  absl::StatusOr<RightsSpec> deny = ParseRights(object, "deny", where);
  if (!deny.ok()) return deny.status();
  spec.deny = *std::move(deny);
  return spec;
}

}  // namespace

const std::vector<TopicPattern>& RightsSpec::For(Action action) const {
  switch (action) {
    case Action::kPublish:
      return publish;
    case Action::kSubscribe:
      return subscribe;
    case Action::kAdmin:
      return admin;
  }
  return admin;
}

std::vector<TopicPattern>& RightsSpec::For(Action action) {
  return const_cast<std::vector<TopicPattern>&>(std::as_const(*this).For(action));
}

absl::StatusOr<AuthFile> ParseAuthFile(absl::string_view json_text) {
  absl::StatusOr<Json> json = ParseJson(json_text);
  if (!json.ok()) return json.status();
  if (!json->is_object()) {
    return absl::InvalidArgumentError("auth file: the top level must be a JSON object");
  }
  if (absl::Status s = CheckKnownFields(*json, {"version", "principals"}, "top level"); !s.ok()) {
    return s;
  }
  if (const auto version = json->find("version");
      version != json->end() && (!version->is_number_integer() || *version != 1)) {
    return Invalid("top level", "\"version\" must be 1 (the only version of this format)");
  }
  const auto principals = json->find("principals");
  if (principals == json->end() || !principals->is_array()) {
    return Invalid("top level", "needs a \"principals\" array");
  }
  AuthFile file;
  for (std::size_t i = 0; i < principals->size(); ++i) {
    absl::StatusOr<PrincipalSpec> principal = ParsePrincipal((*principals)[i], i);
    if (!principal.ok()) return principal.status();
    file.principals.push_back(*std::move(principal));
  }
  return file;
}

absl::StatusOr<AuthFile> ReadAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot open auth file ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::string text;
  char chunk[64 << 10];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxAuthFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth file ", path, " is larger than ", kMaxAuthFileBytes, " bytes"));
    }
  }
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat("cannot read auth file ", path));
  absl::StatusOr<AuthFile> file = ParseAuthFile(text);
  if (!file.ok()) {
    return absl::Status(file.status().code(), absl::StrCat(path, ": ", file.status().message()));
  }
  return file;
}

}  // namespace ringcast::server::security
