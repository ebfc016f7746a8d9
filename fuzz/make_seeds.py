#!/usr/bin/env python3
"""Writes seed corpora: bodies from the recorded OpenAI fixtures and the
string literals of the existing unit tests; for the HTTP targets, whole
requests and upstream answers framed every way HTTP/1.1 allows.
Usage: make_seeds.py OUT_DIR"""
import glob, hashlib, json, os, random, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = "/work/shared/fixtures/openai-recorded"
out = sys.argv[1]
seeds = {t: set() for t in ("chat_request_fuzzer", "embeddings_request_fuzzer",
                            "sse_stream_fuzzer", "config_fuzzer",
                            "http_request_fuzzer", "http_response_fuzzer")}

RAW = re.compile(r'R"([^(\s]*)\((.*?)\)\1"', re.S)
PLAIN = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def literals(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    for m in RAW.finditer(text):
        yield m.group(2)
    for m in PLAIN.finditer(RAW.sub("", text)):
        s = m.group(1)
        if len(s) >= 8:
            try:
                yield bytes(s, "utf-8").decode("unicode_escape").encode(
                    "latin-1").decode("utf-8")
            except Exception:
                yield s


def add(target, text):
    if text:
        seeds[target].add(text)


# Recorded fixtures: request bodies are chat/embeddings requests, response
# bodies (SSE or JSON) feed the stream decoders.
try:
    import yaml
    for f in glob.glob(os.path.join(FIXTURES, "*.yaml")):
        doc = yaml.safe_load(open(f))
        for it in doc.get("interactions", []):
            req = it.get("request", {}).get("body") or ""
            resp = it.get("response", {}).get("body") or ""
            add("embeddings_request_fuzzer" if "embeddings" in f
                else "chat_request_fuzzer", req)
            add("sse_stream_fuzzer", "\x20" + resp)
except ImportError:
    pass

for f in glob.glob(os.path.join(ROOT, "providers/**/*_test.cc"),
                   recursive=True):
    name = os.path.basename(f)
    for lit in literals(f):
        if "stream_decoder" in name or "sse_framer" in name:
            add("sse_stream_fuzzer", "\x20" + lit)
        elif "embeddings" in name:
            add("embeddings_request_fuzzer", lit)
        elif lit.lstrip().startswith("{"):
            add("chat_request_fuzzer", lit)
for lit in literals(os.path.join(ROOT, "server/config_test.cc")):
    add("config_fuzzer", lit)
cfg = open(os.path.join(ROOT, "server/config.cc")).read()
for lit in RAW.finditer(cfg):
    add("config_fuzzer", lit.group(2))

# HTTP targets. An input is 4 control bytes (fuzz/fuzz_stream.h: where the
# first read ends, uint16 LE; a bound on every later read, 0 = none; a
# target byte: the body limit for requests, the sink for answers), then
# what the peer sends.
rng = random.Random(1)
CONTROLS = [b"\x00\x00\x00", b"\x01\x00\x00", b"\x10\x00\x01", b"\x2a\x00\x07",
            b"\x00\x01\x40"]


def http_add(target, data, extras=(0,)):
    if isinstance(data, str):
        data = data.encode("utf-8")
    for i, c in enumerate(CONTROLS):
        extra = extras[i % len(extras)]
        seeds[target].add((c + bytes([extra]) + data).decode(
            "utf-8", "surrogateescape"))


def chunked(body, trailers=(), ext=False):
    if isinstance(body, str):
        body = body.encode("utf-8")
    out, i = b"", 0
    while i < len(body):
        n = rng.choice((1, 7, 64, 300, 4096, 5000))
        piece = body[i:i + n]
        out += b"%x%s\r\n%s\r\n" % (len(piece), b";x=1" if ext else b"", piece)
        i += n
    out += b"0\r\n" + b"".join(t.encode() + b"\r\n" for t in trailers) + b"\r\n"
    return out


def request(method, path, headers, body=b"", framing="length"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    head = f"{method} {path} HTTP/1.1\r\nHost: gw.local\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    if framing == "length" and (body or method in ("POST", "PUT")):
        head += f"Content-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body
    if framing == "chunked":
        head += "Transfer-Encoding: chunked\r\n"
        return head.encode() + b"\r\n" + chunked(
            body, trailers=("X-Checksum: 1",), ext=True)
    return head.encode() + b"\r\n" + body


CHAT = ('{"model":"gpt-4o-mini","stream":true,"messages":'
        '[{"role":"user","content":"Hello!"}]}')
EMBED = '{"model":"text-embedding-3-small","input":["a","b"]}'
JSON_CT = [("Content-Type", "application/json"),
           ("Authorization", "Bearer sk-test")]
reqs = [
    request("POST", "/v1/chat/completions", JSON_CT, CHAT),
    request("POST", "/v1/chat/completions", JSON_CT, CHAT, "chunked"),
    request("POST", "/v1/embeddings", JSON_CT, EMBED),
    request("POST", "/v1/chat/completions",
            JSON_CT + [("Expect", "100-continue")], CHAT),
    request("POST", "/v1/chat/completions",
            JSON_CT + [("Expect", "100-continue")], CHAT, "chunked"),
    request("GET", "/v1/models", [("Authorization", "Bearer sk-test")]),
    request("HEAD", "/healthz", []),
    request("GET", "/v1/models", [("Connection", "close")]),
    request("POST", "/v1/chat/completions",
            JSON_CT + [("X-Forwarded-For", "203.0.113.7, 10.0.0.1")], CHAT),
    b"GET /v1/models HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /v1/models HTTP/1.0\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
    b"chunked\r\n\r\n5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
    b"chunked\r\nTrailer: X-Sum\r\n\r\n5;name=\"v\"\r\nhello\r\n"
    b"6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n",
    # Refused heads: the server's 400/413/431 paths.
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    b"0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4"
    b"\r\n\r\nabcd",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101))
    + b"\r\n",
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(99))
    + b"\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 70000 + b"\r\n\r\n",
]
for r in reqs:
    http_add("http_request_fuzzer", r, extras=(0, 1, 2, 0, 3))
# Pipelined: several requests in one read, then kept alive.
for _ in range(12):
    picks = rng.sample(reqs[:13], 3)
    http_add("http_request_fuzzer", b"".join(picks), extras=(0, 1))
# Recorded clients' requests.
try:
    import yaml
    for f in glob.glob(os.path.join(FIXTURES, "*.yaml")):
        for it in yaml.safe_load(open(f)).get("interactions", []):
            rq = it.get("request", {})
            path = re.sub(r"^https?://[^/]+", "", rq.get("url", "/")) or "/"
            hs = [(k, v) for k, vs in (rq.get("headers") or {}).items()
                  for v in vs if k.lower() not in ("content-length",
                                                   "transfer-encoding")]
            body = rq.get("body") or ""
            http_add("http_request_fuzzer",
                     request(rq.get("method", "POST"), path, hs, body,
                             rng.choice(("length", "chunked"))))
except ImportError:
    pass


def answer(status, headers, body, framing):
    if isinstance(body, str):
        body = body.encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized",
              429: "Too Many Requests", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(status, "X")
    head = f"HTTP/1.1 {status} {reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    if framing == "length":
        head += f"Content-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body
    if framing == "chunked":
        head += "Transfer-Encoding: chunked\r\n"
        return head.encode() + b"\r\n" + chunked(
            body, trailers=rng.choice(((), ("X-Trailer: 1",))))
    head += "Connection: close\r\n"  # the body ends with the connection
    return head.encode() + b"\r\n" + body


SSE_CT = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
          ("x-ratelimit-remaining-requests", "99")]
JSON_ANSWER = [("Content-Type", "application/json")]
openai_sse = "".join(
    "data: " + json.dumps(c) + "\n\n" for c in [
        {"id": "c1", "object": "chat.completion.chunk", "created": 1,
         "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {
             "role": "assistant", "content": ""}, "finish_reason": None}]},
        {"id": "c1", "object": "chat.completion.chunk", "created": 1,
         "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {
             "content": "Hello"}, "finish_reason": None}]},
        {"id": "c1", "object": "chat.completion.chunk", "created": 1,
         "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {},
                                              "finish_reason": "stop"}]},
        {"id": "c1", "object": "chat.completion.chunk", "created": 1,
         "model": "gpt-4o-mini", "choices": [], "usage": {
             "prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}},
    ]) + "data: [DONE]\n\n"
qwen_native = "".join(
    f"id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:" + json.dumps(
        {"output": {"choices": [{"message": {"content": t, "role":
                                             "assistant"},
                                 "finish_reason": f}]},
         "usage": {"total_tokens": 10 + i, "output_tokens": i,
                   "input_tokens": 10}, "request_id": "r1"}) + "\n\n"
    for i, (t, f) in enumerate([("Hel", "null"), ("lo", "null"),
                                ("", "stop")], 1))
claude_sse = "".join(
    f"event: {t}\ndata: " + json.dumps({"type": t, **d}) + "\n\n" for t, d in [
        ("message_start", {"message": {"id": "msg_1", "type": "message",
                                       "role": "assistant", "model":
                                       "claude-sonnet-4", "content": [],
                                       "usage": {"input_tokens": 9,
                                                 "output_tokens": 1}}}),
        ("content_block_start", {"index": 0, "content_block": {
            "type": "text", "text": ""}}),
        ("ping", {}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                       "text": "Hello"}}),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 2}}),
        ("message_stop", {}),
    ])
gemini_events = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]},
                     "index": 0}], "modelVersion": "gemini-2.5-flash"},
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]},
                     "finishReason": "STOP", "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2,
                       "totalTokenCount": 11}},
]
gemini_sse = "".join("data: " + json.dumps(e) + "\r\n\r\n"
                     for e in gemini_events)
completion = json.dumps({
    "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}})
bodies = [(SSE_CT, b) for b in (openai_sse, qwen_native, claude_sse,
                                gemini_sse)]
bodies += [(JSON_ANSWER, completion), (JSON_ANSWER, json.dumps(
    gemini_events[1]))]
for framing in ("length", "chunked", "eof"):
    for hs, b in bodies:
        http_add("http_response_fuzzer", answer(200, hs, b, framing),
                 extras=(0, 1, 4, 0, 1))
# Stream-decoder test streams, chunked as upstreams send them.
for lit in list(seeds["sse_stream_fuzzer"]):
    if "data:" in lit and len(lit) < 20000:
        body = lit[1:].encode("utf-8", "surrogateescape")
        http_add("http_response_fuzzer",
                 answer(200, SSE_CT, body, rng.choice(("chunked", "length"))),
                 extras=(rng.choice((0, 1, 6)),))
# Error answers (Start reads the body for the message, Retry-After).
err = json.dumps({"error": {"message": "Rate limit reached", "type":
                            "requests", "code": "rate_limit_exceeded"}})
for status, extra in ((429, [("Retry-After", "20")]),
                      (429, [("Retry-After", "0.5")]),
                      (503, [("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                      (400, []), (401, []), (500, [])):
    for framing in ("length", "chunked", "eof"):
        http_add("http_response_fuzzer",
                 answer(status, JSON_ANSWER + extra, err, framing))
for raw in (b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
            + openai_sse.encode(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=\"a b\"\r\ndata:\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ndata: [DONE]\n\n"):
    http_add("http_response_fuzzer", raw)
# Recorded upstream answers, headers included.
try:
    import yaml
    for f in glob.glob(os.path.join(FIXTURES, "*.yaml")):
        for it in yaml.safe_load(open(f)).get("interactions", []):
            rs = it.get("response", {})
            try:
                status = int(str(rs.get("status", "200")).split()[0])
            except ValueError:
                continue
            hs = [(k, v) for k, vs in (rs.get("headers") or {}).items()
                  for v in vs if k.lower() not in (
                      "content-length", "transfer-encoding",
                      "content-encoding", "connection")]
            http_add("http_response_fuzzer",
                     answer(status, hs, rs.get("body") or "",
                            rng.choice(("length", "chunked", "eof"))),
                     extras=(0, 1))
except ImportError:
    pass

# Inputs that once crashed a target stay in its corpus.
for target in seeds:
    for f in glob.glob(os.path.join(ROOT, "fuzz/regressions", target, "*")):
        seeds[target].add(open(f, "rb").read().decode("utf-8",
                                                      "surrogateescape"))

for target, items in seeds.items():
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    for s in items:
        data = s.encode("utf-8", "surrogateescape")
        with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeds {target}: {len(items)}")
