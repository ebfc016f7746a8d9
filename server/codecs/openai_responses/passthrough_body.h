// The body a passthrough OpenAI provider gets: the Responses client's own,
// minus what only this gateway knows.
#ifndef AIGW_SERVER_CODECS_OPENAI_RESPONSES_PASSTHROUGH_BODY_H_
#define AIGW_SERVER_CODECS_OPENAI_RESPONSES_PASSTHROUGH_BODY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::responses {

// Items this gateway made (answered by another provider) are not
// OpenAI's: an item_reference to one is replaced by the item (from the
// ItemStore), their ids are left out (OpenAI would look them up), and
// their reasoning items go (OpenAI reads only its own encrypted
// reasoning; a relayed Claude signature is not). Any other body is
// returned byte for byte. `owner`: whose stored items may be named. A
// reference to an item or response of this gateway's it cannot resolve is
// a 400 naming it (OpenAI never knew it).
absl::StatusOr<std::string> PassthroughBody(absl::string_view body,
                                            absl::string_view owner);

}  // namespace aigw::responses

#endif  // AIGW_SERVER_CODECS_OPENAI_RESPONSES_PASSTHROUGH_BODY_H_
