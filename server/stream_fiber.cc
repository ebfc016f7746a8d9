#include "server/stream_fiber.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace aigw {
namespace {

// Virtual size; only the pages a stream touches become resident. TLS and
// JSON decoding in the provider need more than a thread's minimum.
constexpr size_t kStackBytes = 512 * 1024;
constexpr size_t kGuardBytes = 4096;
// Stacks kept for reuse: a warm stack costs no mmap and no page faults.
constexpr size_t kMaxIdleStacks = 64;

absl::Mutex stacks_mu(absl::kConstInit);
std::vector<void*>* idle_stacks ABSL_GUARDED_BY(stacks_mu) = nullptr;

void* AcquireStack() {
  {
    absl::MutexLock lock(&stacks_mu);
    if (idle_stacks != nullptr && !idle_stacks->empty()) {
      void* stack = idle_stacks->back();
      idle_stacks->pop_back();
      return stack;
    }
  }
  void* stack =
      mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return nullptr;
  mprotect(stack, kGuardBytes, PROT_NONE);  // overflow faults, never corrupts
  return stack;
}

void ReleaseStack(void* stack) {
  {
    absl::MutexLock lock(&stacks_mu);
    if (idle_stacks == nullptr) idle_stacks = new std::vector<void*>();
    if (idle_stacks->size() < kMaxIdleStacks) {
      idle_stacks->push_back(stack);
      return;
    }
  }
  munmap(stack, kStackBytes + kGuardBytes);
}

}  // namespace

StreamFiber::StreamFiber(Gateway* gateway, v1::ChatCompletionRequest request,
                         RequestContext ctx)
    : gateway_(gateway), request_(std::move(request)), ctx_(std::move(ctx)) {}

StreamFiber::~StreamFiber() {
  if (paused_) {
    // Resume once with the client gone: Write() returns false, the provider
    // stops and the fiber's stack unwinds normally.
    abandoned_ = true;
    cancel_->Cancel();
    SwitchToFiber();
  }
  if (stack_ != nullptr) ReleaseStack(stack_);
}

void StreamFiber::Entry(unsigned int high, unsigned int low) {
  auto* self = reinterpret_cast<StreamFiber*>(
      (static_cast<uintptr_t>(high) << 32) | static_cast<uintptr_t>(low));
  self->status_ = self->gateway_->Stream(std::move(self->request_), *self,
                                         self->cancel_.get(), &self->ctx_);
  self->finished_ = true;
  // Returning resumes uc_link, the caller that switched in last.
}

void StreamFiber::SwitchToFiber() {
  paused_ = false;
  swapcontext(&caller_context_, &fiber_context_);
}

bool StreamFiber::RunToFirstChunk() {
  stack_ = AcquireStack();
  if (stack_ == nullptr) {
    status_ = absl::ResourceExhaustedError(
        "out of memory for another stream; retry later");
    return false;
  }
  getcontext(&fiber_context_);
  fiber_context_.uc_stack.ss_sp = static_cast<char*>(stack_) + kGuardBytes;
  fiber_context_.uc_stack.ss_size = kStackBytes;
  fiber_context_.uc_link = &caller_context_;
  uintptr_t self = reinterpret_cast<uintptr_t>(this);
  makecontext(&fiber_context_,
              reinterpret_cast<void (*)()>(&StreamFiber::Entry), 2,
              static_cast<unsigned int>(self >> 32),
              static_cast<unsigned int>(self & 0xffffffffu));
  SwitchToFiber();
  return paused_;
}

absl::Status StreamFiber::RunToEnd(WriteFn write) {
  if (!paused_) return status_;
  write_ = std::move(write);
  if (!write_(first_)) {
    abandoned_ = true;
    cancel_->Cancel();
  }
  SwitchToFiber();
  return status_;
}

bool StreamFiber::Write(v1::ChatCompletionChunk chunk) {
  if (abandoned_) return false;
  if (write_) {
    if (write_(chunk)) return true;
    abandoned_ = true;
    return false;
  }
  // First chunk: pause here until RunToEnd() (or the destructor) resumes.
  first_ = std::move(chunk);
  paused_ = true;
  swapcontext(&fiber_context_, &caller_context_);
  return !abandoned_;
}

}  // namespace aigw
