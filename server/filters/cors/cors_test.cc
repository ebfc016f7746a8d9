#include "server/filters/cors/cors.h"

#include <gtest/gtest.h>

#include <map>

namespace aigw {
namespace {

std::map<std::string, std::string> AsMap(const HeaderList& headers) {
  return std::map<std::string, std::string>(headers.begin(), headers.end());
}

TEST(Cors, OffByDefaultAllowsNoOrigin) {
  CorsConfig off;
  EXPECT_FALSE(CorsOriginAllowed(off, "https://chat.example.com"));
  EXPECT_FALSE(CorsOriginAllowed(off, "null"));
}

TEST(Cors, OriginMatchesExactlyIgnoringCase) {
  CorsConfig cors;
  cors.allow_origins = {"https://chat.example.com", "http://localhost:3000"};
  EXPECT_TRUE(CorsOriginAllowed(cors, "https://chat.example.com"));
  EXPECT_TRUE(CorsOriginAllowed(cors, "https://Chat.Example.com"));
  EXPECT_TRUE(CorsOriginAllowed(cors, "http://localhost:3000"));
  EXPECT_FALSE(CorsOriginAllowed(cors, "http://chat.example.com"));
  EXPECT_FALSE(CorsOriginAllowed(cors, "http://localhost:3001"));
  EXPECT_FALSE(CorsOriginAllowed(cors, "https://chat.example.com.evil.net"));
  cors.allow_origins = {"*"};
  EXPECT_TRUE(CorsOriginAllowed(cors, "https://anything.example"));
}

TEST(Cors, ResponsesExposeTheGatewayHeaders) {
  auto headers = AsMap(CorsResponseHeaders("https://chat.example.com"));
  EXPECT_EQ(headers["Access-Control-Allow-Origin"], "https://chat.example.com");
  EXPECT_EQ(headers["Vary"], "Origin");
  for (const char* name :
       {"x-request-id", "x-aigw-provider", "x-aigw-dropped-params",
        "x-ratelimit-remaining-tokens", "retry-after"}) {
    EXPECT_NE(headers["Access-Control-Expose-Headers"].find(name),
              std::string::npos)
        << name;
  }
}

TEST(Cors, PreflightListsConfiguredHeadersAndMaxAge) {
  CorsConfig cors;
  cors.allow_origins = {"*"};
  cors.allow_headers = {"authorization", "content-type"};
  cors.max_age = absl::Minutes(10);
  auto headers =
      AsMap(CorsPreflightHeaders(cors, "POST, OPTIONS", "x-stainless-os"));
  EXPECT_EQ(headers["Access-Control-Allow-Methods"], "POST, OPTIONS");
  EXPECT_EQ(headers["Access-Control-Allow-Headers"],
            "authorization, content-type");
  EXPECT_EQ(headers["Access-Control-Max-Age"], "600");
}

TEST(Cors, PreflightWithoutHeaderListAllowsWhatTheBrowserAsks) {
  CorsConfig cors;
  cors.allow_origins = {"*"};
  auto headers = AsMap(CorsPreflightHeaders(cors, "POST, OPTIONS",
                                            " authorization, x-stainless-os "));
  EXPECT_EQ(headers["Access-Control-Allow-Headers"],
            "authorization, x-stainless-os");
  cors.allow_headers = {"*"};
  headers = AsMap(CorsPreflightHeaders(cors, "GET", ""));
  EXPECT_EQ(headers.count("Access-Control-Allow-Headers"), 0u);
}

}  // namespace
}  // namespace aigw
