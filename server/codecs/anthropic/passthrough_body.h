// The body a passthrough claude provider gets: the Anthropic client's own,
// minus what Claude would refuse that only this gateway put there.
#ifndef AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_
#define AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aigw::anthropic {

// Thinking blocks without a signature (another provider's thinking, which
// this gateway relays unsigned) are left out of the assistant turns, and a
// turn left empty goes with them: Claude refuses unsigned thinking. If the
// assistant turn whose tool_use the last turn answers lost its thinking so,
// `thinking` is turned off for the request (Claude requires that turn's
// thinking when thinking is on). Any other body is returned byte for byte.
std::string PassthroughBody(absl::string_view body);

}  // namespace aigw::anthropic

#endif  // AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_
