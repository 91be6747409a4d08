// What a principal may do with a topic: the three rights of the auth file.
//
//   kPublish    Publish (checked per batch, on the batch's topic)
//   kSubscribe  Subscribe (checked when the subscription is registered)
//   kAdmin      CreateTopic, DeleteTopic, GetTopic (on the named topic) and ListTopics (see
//               Principal::MayListTopics in security/policy.h)
#ifndef RINGCAST_SERVER_SECURITY_ACTION_H_
#define RINGCAST_SERVER_SECURITY_ACTION_H_

#include <array>

#include "absl/strings/string_view.h"

namespace ringcast::server::security {

enum class Action { kPublish = 0, kSubscribe = 1, kAdmin = 2 };

inline constexpr std::array<Action, 3> kActions = {Action::kPublish, Action::kSubscribe,
                                                   Action::kAdmin};

// "publish", "subscribe", "admin": the auth file's field names.
constexpr absl::string_view ActionName(Action action) {
  switch (action) {
    case Action::kPublish:
      return "publish";
    case Action::kSubscribe:
      return "subscribe";
    case Action::kAdmin:
      return "admin";
  }
  return "?";
}

}  // namespace ringcast::server::security

#endif  // RINGCAST_SERVER_SECURITY_ACTION_H_
