// An Anthropic client's own body as a claude provider sends it: only what
// this gateway put in the conversation, and Claude would refuse, is taken
// out.
#ifndef AIGW_PROVIDERS_CLAUDE_CLAUDE_PASSTHROUGH_H_
#define AIGW_PROVIDERS_CLAUDE_CLAUDE_PASSTHROUGH_H_

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "providers/common/param_policy.h"

namespace aigw {

// Thinking blocks without a signature (another provider's thinking, which
// this gateway relays unsigned) leave the assistant turns, and a turn left
// empty goes with them: Claude refuses unsigned thinking. If that leaves
// the first assistant message of the ongoing tool-use turn without the
// thinking Claude requires while thinking is enabled, `thinking` is turned
// off through `policy` (dropped and reported, or a 400 naming it).
// Adaptive thinking, and every other field, is left as sent.
absl::Status CleanPassthroughBody(nlohmann::json& body, ParamPolicy& policy);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_CLAUDE_CLAUDE_PASSTHROUGH_H_
