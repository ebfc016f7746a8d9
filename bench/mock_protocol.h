// What the bench's mock upstream answers, as bytes: no I/O here, so the
// tests can check the framing without sockets.
//
// Two protocols:
//   - OpenAI chat completions (any path ending in /chat/completions):
//     a ~480-byte chat.completion, or, for "stream": true, chat.completion.
//     chunk SSE events ("data: {...}\n\n"), a usage chunk when
//     stream_options.include_usage is true, then "data: [DONE]".
//   - DashScope's native text generation
//     (/api/v1/services/aigc/text-generation/generation, after any base path):
//     {"output":{"choices":[...]},"usage":{...},"request_id":...}, or, when the
//     request has "X-DashScope-SSE: enable" or "Accept: text/event-stream",
//     SSE events "id:N\nevent:result\n:HTTP_STATUS/200\ndata:{...}\n\n" with
//     incremental_output semantics (each event carries only its new text,
//     usage is cumulative), finish_reason "null" until the last, "stop".
//
// A stream is a list of steps; the server writes one step per write and
// waits --chunk_delay_ms between steps. Every SSE event is its own HTTP
// chunk; the last step ends with the terminating 0-chunk.

#ifndef AIGW_BENCH_MOCK_PROTOCOL_H_
#define AIGW_BENCH_MOCK_PROTOCOL_H_

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bench::mock {

inline constexpr std::string_view kDashScopeTextPath =
    "/api/v1/services/aigc/text-generation/generation";
inline constexpr const char* kCreated = "1755133833";
inline constexpr const char* kAnswer =
    "Hi there! How can I help you today? I can explain concepts, answer "
    "questions or help with writing.";
inline constexpr const char* const kWords[] = {
    "Hi", " there", "!", " How", " can", " I", " help", " you", " today", "?"};
inline constexpr int kWordCount = sizeof(kWords) / sizeof(*kWords);
inline constexpr int kPromptTokens = 8;

enum class Protocol { kOpenAI, kDashScope };

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Finds `"key"` followed by `:` and returns the position after the colon
// (skipping whitespace), or npos. Good enough for well-formed request JSON.
inline size_t FindValue(std::string_view body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  size_t pos = 0;
  while ((pos = body.find(needle, pos)) != std::string_view::npos) {
    size_t p = pos + needle.size();
    while (p < body.size() && std::isspace(static_cast<unsigned char>(body[p])))
      ++p;
    if (p < body.size() && body[p] == ':') {
      ++p;
      while (p < body.size() &&
             std::isspace(static_cast<unsigned char>(body[p])))
        ++p;
      return p;
    }
    pos = p;
  }
  return std::string_view::npos;
}

inline bool BoolField(std::string_view body, std::string_view key) {
  size_t p = FindValue(body, key);
  return p != std::string_view::npos && body.substr(p, 4) == "true";
}

// The request's top-level "model" (both protocols put it there), made safe
// to paste into JSON.
inline std::string ModelField(std::string_view body) {
  size_t p = FindValue(body, "model");
  if (p == std::string_view::npos || p >= body.size() || body[p] != '"') {
    return "gpt-4o-mini";
  }
  size_t end = body.find('"', p + 1);
  if (end == std::string_view::npos || end - p - 1 > 128) return "gpt-4o-mini";
  std::string model(body.substr(p + 1, end - p - 1));
  for (char c : model) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return "gpt-4o-mini";
  }
  return model;
}

// One HTTP/1.1 chunk holding `data`.
inline void AppendChunk(std::string* out, std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  out->append(size);
  out->append(data);
  out->append("\r\n");
}

inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

inline std::string CompletionId(uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "chatcmpl-bench%012llu",
                static_cast<unsigned long long>(n));
  return buf;
}

// DashScope request ids are UUIDs.
inline std::string RequestId(uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "b3f1c0de-5e7a-4b1c-9d2e-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

// ------------------------------------------------------------- responses

inline std::string Head(int status, std::string_view reason,
                        std::string_view content_type, size_t content_length,
                        bool chunked, bool keep_alive) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(reason) +
                  "\r\nContent-Type: " + std::string(content_type) + "\r\n";
  if (chunked) {
    h += "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n";
  } else {
    h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  }
  if (!keep_alive) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
}

inline std::string Simple(int status, std::string_view reason,
                          std::string_view content_type, std::string_view body,
                          bool keep_alive) {
  return Head(status, reason, content_type, body.size(), false, keep_alive) +
         std::string(body);
}

inline std::string OpenAICompletion(const std::string& id,
                                    const std::string& model) {
  std::string s;
  s.reserve(512);
  s += "{\"id\":\"" + id +
       "\",\"object\":\"chat.completion\",\"created\":" + kCreated +
       ",\"model\":\"" + model +
       "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
       "\"content\":\"" +
       kAnswer +
       "\",\"refusal\":null,"
       "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
       "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":21,"
       "\"total_tokens\":29},\"service_tier\":"
       "\"default\",\"system_fingerprint\":\"fp_bench\"}";
  return s;
}

inline std::string DashScopeCompletion(const std::string& request_id) {
  return std::string(
             "{\"output\":{\"choices\":[{\"finish_reason\":\"stop\","
             "\"message\":{\"role\":\"assistant\",\"content\":\"") +
         kAnswer +
         "\"}}]},\"usage\":{\"input_tokens\":8,\"output_tokens\":21,"
         "\"total_tokens\":29},\"request_id\":\"" +
         request_id + "\"}";
}

// One OpenAI SSE event: "data: {chunk}\n\n". `delta` is raw JSON.
inline std::string OpenAIChunkEvent(const std::string& id,
                                    const std::string& model,
                                    std::string_view delta,
                                    std::string_view finish_reason,
                                    bool with_usage_null) {
  std::string s;
  s.reserve(320);
  s += "data: {\"id\":\"" + id +
       "\",\"object\":\"chat.completion.chunk\",\"created\":" + kCreated +
       ",\"model\":\"" + model +
       "\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_bench\","
       "\"choices\":[{\"index\":0,\"delta\":";
  s += delta;
  s += ",\"logprobs\":null,\"finish_reason\":";
  s += finish_reason;
  s += "}]";
  if (with_usage_null) s += ",\"usage\":null";
  s += "}\n\n";
  return s;
}

inline std::string OpenAIUsageEvent(const std::string& id,
                                    const std::string& model,
                                    int completion_tokens) {
  return "data: {\"id\":\"" + id +
         "\",\"object\":\"chat.completion.chunk\",\"created\":" + kCreated +
         ",\"model\":\"" + model +
         "\",\"service_tier\":\"default\",\"system_fingerprint\":"
         "\"fp_bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
         "\"completion_tokens\":" +
         std::to_string(completion_tokens) + ",\"total_tokens\":" +
         std::to_string(kPromptTokens + completion_tokens) + "}}\n\n";
}

// One DashScope SSE event (incremental output: `content` is the new text
// only; `output_tokens` is the running total).
inline std::string DashScopeEvent(int n, const std::string& request_id,
                                  std::string_view content,
                                  std::string_view finish_reason,
                                  int output_tokens) {
  std::string s;
  s.reserve(320);
  s += "id:" + std::to_string(n) +
       "\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{"
       "\"message\":{\"content\":\"";
  s += content;
  s += "\",\"role\":\"assistant\"},\"finish_reason\":\"";
  s += finish_reason;
  s += "\"}]},\"usage\":{\"input_tokens\":" + std::to_string(kPromptTokens) +
       ",\"output_tokens\":" + std::to_string(output_tokens) +
       ",\"total_tokens\":" + std::to_string(kPromptTokens + output_tokens) +
       "},\"request_id\":\"" + request_id + "\"}\n\n";
  return s;
}

// The steps of one streamed answer. Step 0 goes out right after the head
// (together with it), step k after k * chunk_delay_ms; steps() in all.
//   OpenAI, `chunks` = C: step 0 the role event, steps 1..C-1 one word
//     each, step C the finish event, the usage event (include_usage) and
//     [DONE].
//   DashScope: steps 0..C-1 one word each (finish_reason "null"), step C
//     the last event (empty content, finish_reason "stop").
// So both protocols take C delays and carry C-1 (OpenAI) or C (DashScope)
// words.
class StreamPlan {
 public:
  StreamPlan(Protocol protocol, int chunks, std::string id, std::string model,
             bool include_usage)
      : protocol_(protocol),
        chunks_(chunks < 1 ? 1 : chunks),
        id_(std::move(id)),
        model_(std::move(model)),
        include_usage_(include_usage) {}

  int steps() const { return chunks_ + 1; }

  std::string ContentType() const {
    return protocol_ == Protocol::kDashScope ? "text/event-stream;charset=UTF-8"
                                             : "text/event-stream";
  }

  // Appends step `k`'s HTTP chunks (and, for the last, the 0-chunk).
  void AppendStep(int k, std::string* out) const {
    if (protocol_ == Protocol::kDashScope) {
      if (k < chunks_) {
        AppendChunk(out, DashScopeEvent(k + 1, id_, kWords[k % kWordCount],
                                        "null", k + 1));
      } else {
        AppendChunk(out, DashScopeEvent(k + 1, id_, "", "stop", chunks_));
        out->append(kLastChunk);
      }
      return;
    }
    if (k == 0) {
      AppendChunk(out, OpenAIChunkEvent(id_, model_,
                                        "{\"role\":\"assistant\",\"content\":"
                                        "\"\",\"refusal\":null}",
                                        "null", include_usage_));
    } else if (k < chunks_) {
      std::string delta =
          std::string("{\"content\":\"") + kWords[(k - 1) % kWordCount] + "\"}";
      AppendChunk(out,
                  OpenAIChunkEvent(id_, model_, delta, "null", include_usage_));
    } else {
      AppendChunk(
          out, OpenAIChunkEvent(id_, model_, "{}", "\"stop\"", include_usage_));
      if (include_usage_) {
        AppendChunk(out, OpenAIUsageEvent(id_, model_, chunks_ - 1));
      }
      AppendChunk(out, "data: [DONE]\n\n");
      out->append(kLastChunk);
    }
  }

 private:
  Protocol protocol_;
  int chunks_;
  std::string id_;
  std::string model_;
  bool include_usage_;
};

}  // namespace bench::mock

#endif  // AIGW_BENCH_MOCK_PROTOCOL_H_
