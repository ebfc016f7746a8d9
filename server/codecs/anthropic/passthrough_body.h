// The body a passthrough claude provider gets: the Anthropic client's own,
// minus what Claude would refuse that only this gateway put there.
#ifndef AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_
#define AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aigw::anthropic {

// Thinking blocks without a signature (another provider's thinking, which
// this gateway relays unsigned) are left out of the assistant turns, and a
// turn left empty goes with them: Claude refuses unsigned thinking. Any
// other body is returned byte for byte.
std::string PassthroughBody(absl::string_view body);

}  // namespace aigw::anthropic

#endif  // AIGW_SERVER_CODECS_ANTHROPIC_PASSTHROUGH_BODY_H_
