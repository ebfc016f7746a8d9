#include "server/observability/request_id.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"

namespace aigw {
namespace {

// Seeded once per thread from several random_device words (one 32-bit
// seed would repeat ids across processes); no syscall per id.
uint64_t RandomWord() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return generator();
}

}  // namespace

std::string NewRequestId() {
  uint64_t high = RandomWord();
  uint64_t low = RandomWord();
  // Version 4 and the RFC 4122 variant.
  high = (high & ~uint64_t{0xf000}) | 0x4000;
  low = (low & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 15; i >= 0; --i) {
    id.push_back(kHex[(high >> (i * 4)) & 0xf]);
    if (i == 8 || i == 4) id.push_back('-');
  }
  id.push_back('-');
  for (int i = 15; i >= 0; --i) {
    id.push_back(kHex[(low >> (i * 4)) & 0xf]);
    if (i == 12) id.push_back('-');
  }
  return id;
}

bool ValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
              c == '_' || c == ':' || c == '+' || c == '=' || c == '/' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace aigw
