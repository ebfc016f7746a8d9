#include "server/grpc_reflection_v1.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace aigw {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

// The file and everything it imports, each once. Like the library's
// v1alpha, every answer is complete in itself: clients need not keep files
// from earlier answers.
void AddFileWithDependencies(const FileDescriptor* file,
                             std::unordered_set<std::string>* sent,
                             ServerReflectionResponse* response) {
  if (!sent->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(response->mutable_file_descriptor_response()
                              ->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileWithDependencies(file->dependency(i), sent, response);
  }
}

grpc::Status Answer(const ServerReflectionRequest& request,
                    const std::vector<std::string>& services,
                    ServerReflectionResponse* response) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  std::unordered_set<std::string> sent_files;
  std::unordered_set<std::string>* sent = &sent_files;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file =
          pool->FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "File not found.");
      }
      AddFileWithDependencies(file, sent, response);
      return grpc::Status::OK;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file =
          pool->FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Symbol not found.");
      }
      AddFileWithDependencies(file, sent, response);
      return grpc::Status::OK;
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& wanted = request.file_containing_extension();
      const google::protobuf::Descriptor* type =
          pool->FindMessageTypeByName(wanted.containing_type());
      if (type == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
      }
      const google::protobuf::FieldDescriptor* extension =
          pool->FindExtensionByNumber(type, wanted.extension_number());
      if (extension == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "Extension not found.");
      }
      AddFileWithDependencies(extension->file(), sent, response);
      return grpc::Status::OK;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& name = request.all_extension_numbers_of_type();
      const google::protobuf::Descriptor* type =
          pool->FindMessageTypeByName(name);
      if (type == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
      }
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* numbers = response->mutable_all_extension_numbers_response();
      numbers->set_base_type_name(name);
      for (const auto* extension : extensions) {
        numbers->add_extension_number(extension->number());
      }
      return grpc::Status::OK;
    }
    case ServerReflectionRequest::kListServices: {
      auto* list = response->mutable_list_services_response();
      for (const std::string& name : services) {
        list->add_service()->set_name(name);
      }
      return grpc::Status::OK;
    }
    default:
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  }
}

}  // namespace

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<ServerReflectionResponse, ServerReflectionRequest>*
        stream) {
  ServerReflectionRequest request;
  while (stream->Read(&request)) {
    ServerReflectionResponse response;
    grpc::Status status = Answer(request, services_, &response);
    if (!status.ok()) {
      response.clear_message_response();
      response.mutable_error_response()->set_error_code(status.error_code());
      response.mutable_error_response()->set_error_message(
          status.error_message());
    }
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace aigw
