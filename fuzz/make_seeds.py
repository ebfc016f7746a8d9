#!/usr/bin/env python3
"""Writes seed corpora: bodies from the recorded OpenAI fixtures and the
string literals of the existing unit tests. Usage: make_seeds.py OUT_DIR"""
import glob, hashlib, os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = "/work/shared/fixtures/openai-recorded"
out = sys.argv[1]
seeds = {t: set() for t in ("chat_request_fuzzer", "embeddings_request_fuzzer",
                            "sse_stream_fuzzer", "config_fuzzer")}

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
