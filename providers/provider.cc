#include "providers/provider.h"

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {

absl::StatusOr<v1::EmbeddingsResponse> Provider::Embed(
    const v1::EmbeddingsRequest& request, CallContext&) {
  return InvalidRequest(
      absl::StrCat("The model `", request.model(),
                   "` is served by a provider without an embeddings API."),
      "model", "embeddings_not_supported");
}

}  // namespace aigw
