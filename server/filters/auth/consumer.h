// A consumer as requests see it: its config and its compiled model
// allow-list. Owned by the auth filter's config, which the snapshot holds
// for as long as any request uses it.
#ifndef AIGW_SERVER_FILTERS_AUTH_CONSUMER_H_
#define AIGW_SERVER_FILTERS_AUTH_CONSUMER_H_

#include <optional>
#include <string>

#include "server/config.h"
#include "server/model_mapper.h"

namespace aigw {

struct Consumer {
  ConsumerConfig config;
  std::optional<ModelMapper> allowed_models;  // nullopt: every model

  bool Allows(const std::string& model) const {
    return !allowed_models.has_value() ||
           allowed_models->Map(model).has_value();
  }
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_AUTH_CONSUMER_H_
