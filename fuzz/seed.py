"""Seeds for the fuzz targets, from the real client requests in
tests/fixtures (captured from Claude Code, Codex and the SDKs) plus a few
hand-written upstream answers. Idempotent; the seeds are committed."""
import glob, json, os

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "tests", "fixtures")


def put(target, name, data):
    d = os.path.join(here, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# client_requests: first byte picks the protocol (0 chat, 1 responses, 2 anthropic, 3 gemini).
for path in sorted(glob.glob(os.path.join(fixtures, "*", "*.json"))):
    fx = json.load(open(path))
    body, url = fx.get("body"), fx.get("path") or fx.get("url") or os.path.basename(path)
    if not isinstance(body, dict):
        continue
    pick = 0 if "chat/completions" in url else 1 if "responses" in url else 2 if "messages" in url else 3
    if "codex" in path:
        pick = 1
    if "claude-code" in path:
        pick = 2
    put("client_requests", os.path.basename(path), bytes([pick]) + json.dumps(body).encode())
    for tool in body.get("tools", []):
        schema = tool.get("input_schema") or tool.get("parameters") or (tool.get("function") or {}).get("parameters")
        if schema:
            put("schema", f"{os.path.basename(path)}-{tool.get('name', 'fn')}", json.dumps(schema).encode())

gemini = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi", "thoughtSignature": "c2ln"},
          {"functionCall": {"name": "f", "args": {"a": 1}}}]}, "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}
anthropic = [{"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 3}}},
             {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}},
             {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}},
             {"type": "content_block_stop", "index": 0},
             {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
             {"type": "message_stop"}]
openai = [{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{\"a\""}}]}}]},
          {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}]
put("upstream_answers", "gemini-whole", bytes([4]) + json.dumps(gemini).encode())
put("upstream_answers", "gemini-stream", bytes([0]) + json.dumps(gemini).encode())
put("upstream_answers", "anthropic-stream", bytes([1]) + "\n".join(json.dumps(e) for e in anthropic).encode())
put("upstream_answers", "openai-stream", bytes([2]) + "\n".join(json.dumps(e) for e in openai).encode())
put("sse", "events", bytes([7]) + b"event: a\ndata: {\"x\":1}\r\n\r\n: ping\n\ndata: [DONE]\n\n")
put("config_import", "settings", b"scheduling=performance\nmodel_map.gpt-4o*=gemini-2.5-flash\ntier_limits.free=10/250/250000\nlog_bodies=on\n")
put("config_import", "import", json.dumps([{"refresh_token": "1//x", "email": "a@b.c", "project": "p"}, "1//y"]).encode())
# passthrough: first byte picks the wire (low 2 bits: 0 Gemini array, 1 Gemini SSE, 2 Anthropic, 3 Chat) and the piece size (the rest).
chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": "a }] \\\" {["}]}}]},
          {"candidates": [{"content": {"role": "model", "parts": [{"text": "b"}]}, "finishReason": "STOP"}]}]
put("passthrough", "gemini-array", bytes([0 | 5 << 2]) + ("[" + ",\r\n".join(json.dumps(c) for c in chunks) + "]").encode())
put("passthrough", "gemini-sse", bytes([1 | 7 << 2]) + "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode())
put("passthrough", "anthropic-sse", bytes([2 | 3 << 2]) + "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in anthropic).encode())
put("passthrough", "chat-sse", bytes([3 | 11 << 2]) + ("".join(f"data: {json.dumps(e)}\n\n" for e in openai) + "data: [DONE]\n\n").encode())

# upstream_urls: a method pick, then a model name (real ids and the traversals
# issue #14 found).
for i, name in enumerate([
    "gemini-2.5-flash", "models/gemini-2.5-pro", "meta-llama/Llama-3.3-70B-Instruct",
    "qwen2.5-coder:7b", "claude-3-5-sonnet@20240620",
    "gemini-2.5-flash/../../cachedContents#", "gemini-2.5-flash%2F..%2Ffiles", "a?alt=json",
]):
    put("upstream_urls", f"name-{i}", bytes([i % 3]) + name.encode())
