#include "server/filters/filter_chain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aigw {
namespace {

// Logs what each filter saw; `refuse` makes OnRequest or OnChunk fail.
struct Log {
  std::vector<std::string> events;
};

class LoggingFilter : public RequestFilter {
 public:
  LoggingFilter(std::string name, Log& log, bool refuse_request,
                bool refuse_chunk)
      : name_(std::move(name)),
        log_(log),
        refuse_request_(refuse_request),
        refuse_chunk_(refuse_chunk) {}
  absl::Status OnRequest(RequestContext&) override {
    log_.events.push_back(name_ + ".request");
    return refuse_request_ ? absl::PermissionDeniedError(name_)
                           : absl::OkStatus();
  }
  absl::Status OnChunk(RequestContext&,
                       const v1::ChatCompletionChunk&) override {
    log_.events.push_back(name_ + ".chunk");
    return refuse_chunk_ ? absl::ResourceExhaustedError(name_)
                         : absl::OkStatus();
  }
  void OnEnd(RequestContext&, const absl::Status& status) override {
    log_.events.push_back(name_ +
                          ".end:" + absl::StatusCodeToString(status.code()));
  }

 private:
  const std::string name_;
  Log& log_;
  const bool refuse_request_;
  const bool refuse_chunk_;
};

class LoggingFactory : public FilterFactory {
 public:
  LoggingFactory(std::string name, Log& log, bool applies = true,
                 bool refuse_request = false, bool refuse_chunk = false)
      : name_(std::move(name)),
        log_(log),
        applies_(applies),
        refuse_request_(refuse_request),
        refuse_chunk_(refuse_chunk) {}
  std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const override {
    log_.events.push_back(name_ + ".create:" + ctx.model);
    if (!applies_) return nullptr;
    return std::make_unique<LoggingFilter>(name_, log_, refuse_request_,
                                           refuse_chunk_);
  }

 private:
  const std::string name_;
  Log& log_;
  const bool applies_, refuse_request_, refuse_chunk_;
};

TEST(FilterChain, RunsInOrderAndEndsInReverse) {
  Log log;
  FilterFactories factories = {std::make_shared<LoggingFactory>("a", log),
                               std::make_shared<LoggingFactory>("b", log)};
  RequestContext ctx;
  ctx.model = "m";
  FilterChain chain(factories, ctx);
  ASSERT_TRUE(chain.Begin().ok());
  ASSERT_TRUE(chain.OnChunk(v1::ChatCompletionChunk()).ok());
  chain.End(absl::OkStatus());
  chain.End(absl::InternalError("only the first End counts"));
  EXPECT_EQ(log.events,
            (std::vector<std::string>{"a.create:m", "a.request", "b.create:m",
                                      "b.request", "a.chunk", "b.chunk",
                                      "b.end:OK", "a.end:OK"}));
}

TEST(FilterChain, ARefusalStopsTheChainAndOnlyBegunFiltersEnd) {
  Log log;
  FilterFactories factories = {
      std::make_shared<LoggingFactory>("a", log),
      std::make_shared<LoggingFactory>("skip", log, /*applies=*/false),
      std::make_shared<LoggingFactory>("auth", log, true, /*refuse=*/true),
      std::make_shared<LoggingFactory>("never", log)};
  RequestContext ctx;
  FilterChain chain(factories, ctx);
  absl::Status status = chain.Begin();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  chain.End(status);
  EXPECT_EQ(log.events,
            (std::vector<std::string>{
                "a.create:", "a.request",
                "skip.create:", "auth.create:", "auth.request",
                "auth.end:PERMISSION_DENIED", "a.end:PERMISSION_DENIED"}));
}

TEST(FilterChain, ChunkRefusalIsReturnedAndLaterFiltersSkipIt) {
  Log log;
  FilterFactories factories = {
      std::make_shared<LoggingFactory>("limit", log, true, false, true),
      std::make_shared<LoggingFactory>("b", log)};
  RequestContext ctx;
  FilterChain chain(factories, ctx);
  ASSERT_TRUE(chain.Begin().ok());
  EXPECT_EQ(chain.OnChunk(v1::ChatCompletionChunk()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(log.events.back(), "limit.chunk");
}

TEST(FilterChain, AnAbandonedChainStillEnds) {
  Log log;
  FilterFactories factories = {std::make_shared<LoggingFactory>("a", log)};
  RequestContext ctx;
  {
    FilterChain chain(factories, ctx);
    ASSERT_TRUE(chain.Begin().ok());
  }
  EXPECT_EQ(log.events.back(), "a.end:CANCELLED");
}

}  // namespace
}  // namespace aigw
