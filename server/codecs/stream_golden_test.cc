// Golden streaming translation: a Claude stream with interleaved thinking,
// text and parallel tool calls, cut at every byte, decoded and encoded for
// an Anthropic client and for a Responses client. Each time the client's
// events rebuild exactly what Claude sent: tool-call ids, argument bytes
// and their order, and every thinking block with its own signature.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "providers/claude/claude_stream_decoder.h"
#include "providers/common/stream_decoder_testing.h"
#include "re2/re2.h"
#include "server/codecs/anthropic/messages_response.h"
#include "server/codecs/openai_responses/responses.h"

namespace aigw {
namespace {

using nlohmann::json;

std::string Event(const json& data) {
  return absl::StrCat("event: ", data["type"].get<std::string>(),
                      "\ndata: ", data.dump(), "\n\n");
}

json Delta(int index, json delta) {
  return {{"type", "content_block_delta"},
          {"index", index},
          {"delta", std::move(delta)}};
}

// What Claude writes: thinking, text, thinking, two tool calls with their
// input in fragments, a thinking block whose text is withheld between them.
struct ClaudeStream {
  std::string sse;
  json content = json::array();        // the blocks, whole
  std::vector<std::string> arguments;  // each tool's input bytes
};

ClaudeStream MakeStream() {
  ClaudeStream out;
  out.sse +=
      Event({{"type", "message_start"},
             {"message",
              {{"id", "msg_01"},
               {"type", "message"},
               {"role", "assistant"},
               {"model", "claude-sonnet-4-5"},
               {"content", json::array()},
               {"stop_reason", nullptr},
               {"stop_sequence", nullptr},
               {"usage", {{"input_tokens", 40}, {"output_tokens", 1}}}}}});
  int index = 0;
  auto thinking = [&](const std::string& text, const std::string& signature) {
    out.sse +=
        Event({{"type", "content_block_start"},
               {"index", index},
               {"content_block",
                {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}});
    for (size_t i = 0; i < text.size(); i += 5) {
      out.sse += Event(Delta(index, {{"type", "thinking_delta"},
                                     {"thinking", text.substr(i, 5)}}));
    }
    out.sse += Event(
        Delta(index, {{"type", "signature_delta"}, {"signature", signature}}));
    out.sse += Event({{"type", "content_block_stop"}, {"index", index++}});
    out.content.push_back(
        {{"type", "thinking"}, {"thinking", text}, {"signature", signature}});
  };
  auto tool = [&](const std::string& id, const std::string& name,
                  const std::vector<std::string>& fragments) {
    out.sse += Event({{"type", "content_block_start"},
                      {"index", index},
                      {"content_block",
                       {{"type", "tool_use"},
                        {"id", id},
                        {"name", name},
                        {"input", json::object()}}}});
    std::string whole;
    for (const std::string& fragment : fragments) {
      out.sse += Event(Delta(
          index, {{"type", "input_json_delta"}, {"partial_json", fragment}}));
      whole += fragment;
    }
    out.sse += Event({{"type", "content_block_stop"}, {"index", index++}});
    out.content.push_back({{"type", "tool_use"},
                           {"id", id},
                           {"name", name},
                           {"input", json::parse(whole)}});
    out.arguments.push_back(whole);
  };
  thinking("Two lookups: weather, then time.", "sig-plan");
  out.sse += Event({{"type", "content_block_start"},
                    {"index", index},
                    {"content_block", {{"type", "text"}, {"text", ""}}}});
  out.sse += Event(Delta(index, {{"type", "text_delta"}, {"text", "Let me "}}));
  out.sse += Event(Delta(index, {{"type", "text_delta"}, {"text", "check ✓"}}));
  out.sse += Event({{"type", "content_block_stop"}, {"index", index++}});
  out.content.push_back({{"type", "text"}, {"text", "Let me check ✓"}});
  tool("toolu_01Weather", "get_weather",
       {"{\"ci", "ty\": \"Par", "is\", \"unit\"", ": \"c\"}"});
  thinking("", "sig-withheld");
  tool("toolu_02Time", "get_time", {"", "{\"tz\":", "\"Europe/Paris\"}"});
  out.sse += Event(
      {{"type", "message_delta"},
       {"delta", {{"stop_reason", "tool_use"}, {"stop_sequence", nullptr}}},
       {"usage", {{"output_tokens", 90}}}});
  out.sse += Event({{"type", "message_stop"}});
  return out;
}

std::vector<json> Events(const std::string& sse) {
  std::vector<json> events;
  re2::StringPiece input(sse);
  std::string name, payload;
  while (RE2::FindAndConsume(&input, R"(event: (\S+)\ndata: ([^\n]*)\n\n)",
                             &name, &payload)) {
    events.push_back(json::parse(payload));
  }
  return events;
}

// The Anthropic client's message, rebuilt from its events as the SDK does.
json AnthropicContent(const std::string& sse, std::vector<std::string>* args) {
  json content = json::array();
  std::vector<std::string> partial;
  for (const json& event : Events(sse)) {
    if (event["type"] == "content_block_start") {
      EXPECT_EQ(event["index"], content.size());
      content.push_back(event["content_block"]);
      partial.emplace_back();
    } else if (event["type"] == "content_block_delta") {
      json& block = content[event["index"].get<size_t>()];
      const json& delta = event["delta"];
      if (delta["type"] == "text_delta") {
        block["text"] =
            block["text"].get<std::string>() + delta["text"].get<std::string>();
      } else if (delta["type"] == "thinking_delta") {
        block["thinking"] = block["thinking"].get<std::string>() +
                            delta["thinking"].get<std::string>();
      } else if (delta["type"] == "signature_delta") {
        block["signature"] = block["signature"].get<std::string>() +
                             delta["signature"].get<std::string>();
      } else if (delta["type"] == "input_json_delta") {
        partial[event["index"].get<size_t>()] +=
            delta["partial_json"].get<std::string>();
      }
    }
  }
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i]["type"] != "tool_use") continue;
    content[i]["input"] = json::parse(partial[i]);
    args->push_back(partial[i]);
  }
  return content;
}

TEST(StreamGoldenTest, ClaudeToAnthropicAndResponsesAtEverySplit) {
  const ClaudeStream claude = MakeStream();
  const std::string& sse = claude.sse;
  for (size_t cut = 0; cut <= sse.size(); ++cut) {
    stream_decoder_testing::RecordingSink sink;
    ClaudeStreamDecoder decoder(sink, 1755137921);
    ASSERT_TRUE(stream_decoder_testing::FeedInPieces(decoder, sse, {cut}).ok())
        << "cut at " << cut;

    anthropic::StreamEncoder to_anthropic("claude-either");
    std::string anthropic_sse;
    responses::RequestEcho echo;
    echo.model = "gpt-either";
    responses::StreamEncoder to_responses(echo);
    std::string responses_sse;
    for (const v1::ChatCompletionChunk& chunk : sink.chunks) {
      anthropic_sse += to_anthropic.Encode(chunk);
      responses_sse += to_responses.Encode(chunk);
    }
    anthropic_sse += to_anthropic.Finish(absl::OkStatus());
    responses_sse += to_responses.Finish(absl::OkStatus());

    std::vector<std::string> arguments;
    ASSERT_EQ(AnthropicContent(anthropic_sse, &arguments), claude.content)
        << "cut at " << cut;
    ASSERT_EQ(arguments, claude.arguments) << "cut at " << cut;

    // The Responses client: one item per block, in Claude's order; the
    // argument deltas of each call add up to Claude's bytes.
    std::vector<json> events = Events(responses_sse);
    ASSERT_FALSE(events.empty());
    const json& completed = events.back();
    ASSERT_EQ(completed["type"], "response.completed") << "cut at " << cut;
    const json& output = completed["response"]["output"];
    ASSERT_EQ(output.size(), claude.content.size()) << output.dump();
    size_t call = 0;
    for (size_t i = 0; i < output.size(); ++i) {
      const json& block = claude.content[i];
      const json& item = output[i];
      if (block["type"] == "thinking") {
        ASSERT_EQ(item["type"], "reasoning");
        ASSERT_EQ(item["encrypted_content"],
                  "aigw-signature:" + block["signature"].get<std::string>());
      } else if (block["type"] == "text") {
        ASSERT_EQ(item["type"], "message");
        ASSERT_EQ(item["content"][0]["text"], block["text"]);
      } else {
        ASSERT_EQ(item["type"], "function_call");
        ASSERT_EQ(item["call_id"], block["id"]);
        ASSERT_EQ(item["name"], block["name"]);
        ASSERT_EQ(item["arguments"], claude.arguments[call]);
        std::string deltas;
        for (const json& event : events) {
          if (event["type"] == "response.function_call_arguments.delta" &&
              event["output_index"] == i) {
            deltas += event["delta"].get<std::string>();
          }
        }
        ASSERT_EQ(deltas, claude.arguments[call++]) << "cut at " << cut;
      }
    }
    ASSERT_EQ(completed["response"]["usage"]["output_tokens"], 90);
  }
}

}  // namespace
}  // namespace aigw
