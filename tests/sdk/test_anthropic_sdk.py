"""The official Anthropic Python SDK, unmodified, talking to levity.

Run by tests/integration/real_clients.rs, which starts levity (one Gemini
account, a client key, `claude-sonnet-*` mapped to a Gemini 3 model that
demands thought signatures) and the fake Gemini upstream, and passes their
addresses in LEVITY_URL, LEVITY_KEY and FAKE_UPSTREAM_URL.
"""

import base64
import os

import anthropic
import httpx
import pytest

URL = os.environ["LEVITY_URL"]
KEY = os.environ["LEVITY_KEY"]
FAKE = os.environ["FAKE_UPSTREAM_URL"]
MODEL = "gemini-2.5-flash"
THINKER = "claude-sonnet-5-5"  # mapped to gemini-3-pro-preview by the harness

TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"city": {"type": "string", "minLength": 1}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }
]


@pytest.fixture
def client():
    return anthropic.Anthropic(base_url=URL, api_key=KEY, max_retries=0)


def upstream_last():
    return httpx.get(f"{FAKE}/_requests").json()[-1]


def test_non_stream(client):
    m = client.messages.create(
        model=MODEL,
        max_tokens=200,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hello sdk"}],
    )
    assert m.type == "message" and m.role == "assistant"
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text == "echo: hello sdk"
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    assert upstream_last()["body"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


def test_stream_accumulates_to_the_same_message(client):
    kwargs = dict(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "reply streamed in pieces"}])
    whole = client.messages.create(**kwargs)
    with client.messages.stream(**kwargs) as stream:
        texts = [t for t in stream.text_stream]
        final = stream.get_final_message()
    assert len(texts) > 3, "the text arrives in several deltas"
    assert "".join(texts) == "streamed in pieces"
    assert [b.model_dump() for b in final.content] == [b.model_dump() for b in whole.content]
    assert final.stop_reason == whole.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_tool_round_trip(client):
    messages = [{"role": "user", "content": 'call get_weather {"city": "Lyon"}'}]
    m = client.messages.create(model=MODEL, max_tokens=200, tools=TOOLS, messages=messages)
    assert m.stop_reason == "tool_use"
    use = [b for b in m.content if b.type == "tool_use"][0]
    assert use.name == "get_weather" and use.input == {"city": "Lyon"}
    params = upstream_last()["body"]["tools"][0]["functionDeclarations"][0]["parameters"]
    assert "$schema" not in params and "additionalProperties" not in params

    messages += [
        {"role": "assistant", "content": m.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "12C, rain"}]},
    ]
    m = client.messages.create(model=MODEL, max_tokens=200, tools=TOOLS, messages=messages)
    assert m.content[-1].text == 'tool result: {"result":"12C, rain"}'
    contents = upstream_last()["body"]["contents"]
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_thinking_with_signatures_across_three_turns(client):
    thinking = {"type": "enabled", "budget_tokens": 2048}
    messages = [{"role": "user", "content": 'call get_weather {"city": "Oslo"}'}]
    with client.messages.stream(model=THINKER, max_tokens=4096, thinking=thinking, tools=TOOLS, messages=messages) as s:
        first = s.get_final_message()
    kinds = [b.type for b in first.content]
    assert "thinking" in kinds and kinds[-1] == "tool_use", kinds
    assert all(b.signature for b in first.content if b.type == "thinking" and b.thinking == "")
    use = first.content[-1]

    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = client.messages.create(model=THINKER, max_tokens=4096, thinking=thinking, tools=TOOLS, messages=messages)
    assert second.content[-1].text == 'tool result: {"result":"sunny"}'
    up = upstream_last()
    assert "gemini-3-pro-preview" in up["path"]
    calls = [p for p in up["body"]["contents"][1]["parts"] if "functionCall" in p]
    assert calls[0]["thoughtSignature"] == "c2lnbmF0dXJl", "the real signature went back on the call"

    messages += [{"role": "assistant", "content": second.content}, {"role": "user", "content": "reply thanks"}]
    with client.messages.stream(model=THINKER, max_tokens=4096, thinking=thinking, tools=TOOLS, messages=messages) as s:
        third = s.get_final_message()
    assert third.content[-1].text == "thanks"


PIXEL = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()


def test_image_input(client):
    m = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
                    {"type": "text", "text": "what is it"},
                ],
            }
        ],
    )
    assert m.content[0].text == "echo: what is it [images: 1]"
    assert upstream_last()["body"]["contents"][0]["parts"][0] == {"inlineData": {"mimeType": "image/png", "data": PIXEL}}


def test_count_tokens(client):
    small = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    big = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "word " * 2000}], tools=TOOLS)
    assert 0 < small.input_tokens < big.input_tokens
    assert upstream_last()["path"].endswith(":countTokens")


def test_errors_are_sdk_exceptions(client):
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL, max_tokens=5, messages=[])
    bad = anthropic.Anthropic(base_url=URL, api_key="sk-not-a-levity-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
