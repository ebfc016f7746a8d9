// Request checks both front doors share: what OpenAI would refuse (a
// missing model, an empty message list, unknown roles, values outside
// their documented ranges) is refused here, naming the param, after auth
// (an unknown caller learns nothing) and before any budget is reserved.
#ifndef AIGW_SERVER_FILTERS_VALIDATE_FILTER_H_
#define AIGW_SERVER_FILTERS_VALIDATE_FILTER_H_

#include "server/filters/filter.h"

namespace aigw {

absl::Status ValidateChat(const v1::ChatCompletionRequest& request);
absl::Status ValidateEmbeddings(const v1::EmbeddingsRequest& request);

class ValidateConfig : public FilterFactory {
 public:
  std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const override;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_VALIDATE_FILTER_H_
