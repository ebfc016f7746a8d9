// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection). Debian's
// libgrpc++_reflection 1.51 serves only v1alpha; current tools (grpcurl,
// Postman, grpc-js and python reflection clients) ask for v1 first. The two
// protocols differ only in their package name, so this answers v1 the way
// the library answers v1alpha: from the process's generated descriptor
// pool.
#ifndef AIGW_SERVER_GRPC_REFLECTION_V1_H_
#define AIGW_SERVER_GRPC_REFLECTION_V1_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace aigw {

class ReflectionV1Service final
    : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: the full names list_services reports.
  explicit ReflectionV1Service(std::vector<std::string> services)
      : services_(std::move(services)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>*
          stream) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_GRPC_REFLECTION_V1_H_
