"""The official OpenAI Python SDK, unmodified, talking to levity.

Run by tests/integration/real_clients.rs, which starts levity (with one Gemini
account and a client key) and the fake Gemini upstream, and passes their
addresses in LEVITY_BASE_URL, LEVITY_KEY and FAKE_UPSTREAM_URL. Each test
checks what the SDK received and what the upstream received.
"""

import base64
import json
import os

import httpx
import openai
import pytest
from pydantic import BaseModel

BASE_URL = os.environ["LEVITY_BASE_URL"]
KEY = os.environ["LEVITY_KEY"]
FAKE = os.environ["FAKE_UPSTREAM_URL"]
MODEL = "gemini-2.5-flash"


@pytest.fixture
def client():
    return openai.OpenAI(base_url=BASE_URL, api_key=KEY, max_retries=0)


def upstream_last():
    """The last request the fake Gemini upstream received."""
    return httpx.get(f"{FAKE}/_requests").json()[-1]


def test_non_stream(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "hello sdk"},
        ],
        temperature=0.4,
        max_tokens=100,
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "echo: hello sdk"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    up = upstream_last()
    assert up["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert up["body"]["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert up["body"]["generationConfig"] == {"temperature": 0.4, "maxOutputTokens": 100}


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "reply streamed answer here"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, chunks = "", None, None, 0
    for chunk in stream:
        chunks += 1
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert text == "streamed answer here"
    assert finish == "stop"
    assert usage is not None and usage.total_tokens > 0
    assert chunks > 4, "the answer arrives in several chunks"
    assert upstream_last()["path"].endswith(":streamGenerateContent?alt=sse")


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": ["string", "null"], "enum": ["c", "f", None]},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": False,
        },
    }
]


def test_tool_call_round_trip(client):
    messages = [{"role": "user", "content": 'call get_weather {"city": "Paris"}'}]
    r = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS, tool_choice="auto")
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    params = upstream_last()["body"]["tools"][0]["functionDeclarations"][0]["parameters"]
    assert "$schema" not in params and "additionalProperties" not in params
    assert params["properties"]["unit"]["nullable"] is True

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'})
    r = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    assert r.choices[0].message.content == 'tool result: {"temp_c":18}'
    contents = upstream_last()["body"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[2]["parts"][0]["functionResponse"] == {"name": "get_weather", "response": {"temp_c": 18}}


def test_streamed_tool_call(client):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": 'call get_weather {"city": "Oslo"}'}],
        tools=TOOLS,
        stream=True,
    )
    calls, text, finish = {}, "", None
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] += tc.function.name or ""
                slot["arguments"] += tc.function.arguments or ""
    assert text == "Let me check. "
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}


class Echo(BaseModel):
    echo: str


def test_json_schema_output(client):
    r = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "structured please"}],
        response_format=Echo,
    )
    assert r.choices[0].message.parsed == Echo(echo="structured please")
    config = upstream_last()["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {
        "type": "OBJECT",
        "title": "Echo",
        "properties": {"echo": {"type": "STRING", "title": "Echo"}},
        "required": ["echo"],
    }


def test_json_object_output(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "any json"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(r.choices[0].message.content) == {"echo": "any json"}


# A 1x1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )
).decode()


def test_image_input(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            }
        ],
    )
    assert r.choices[0].message.content == "echo: what is this [images: 1]"
    parts = upstream_last()["body"]["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PIXEL}}


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids


def test_errors_are_sdk_exceptions(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert "model_map" in e.value.message

    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[])
    assert e.value.body["param"] == "messages"

    bad = openai.OpenAI(base_url=BASE_URL, api_key="sk-not-a-levity-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])


def test_responses_api(client):
    r = client.responses.create(model=MODEL, instructions="Be brief.", input="hello responses")
    assert r.status == "completed"
    assert r.output_text == "echo: hello responses"
    assert upstream_last()["body"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}

    with client.responses.stream(model=MODEL, input="reply streamed responses") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "streamed responses"
    assert final.output_text == "streamed responses"
    assert final.usage.total_tokens > 0


def test_responses_tool_call(client):
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    r = client.responses.create(model=MODEL, tools=tools, input='call get_weather {"city": "Rome"}')
    call = [o for o in r.output if o.type == "function_call"][0]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Rome"}
    follow = client.responses.create(
        model=MODEL,
        tools=tools,
        input=[{"role": "user", "content": 'call get_weather {"city": "Rome"}'}]
        + [o.model_dump(exclude_none=True) for o in r.output]
        + [{"type": "function_call_output", "call_id": call.call_id, "output": "22C"}],
    )
    assert follow.output_text == 'tool result: {"result":"22C"}'


FAKE_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRfake"


def test_images_generate_and_edit(client):
    r = client.images.generate(model="gemini-2.5-flash-image", prompt="a lighthouse", size="1792x1024", n=2)
    assert len(r.data) == 2
    assert base64.b64decode(r.data[0].b64_json) == FAKE_PNG
    config = upstream_last()["body"]["generationConfig"]
    assert config["responseModalities"] == ["TEXT", "IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "16:9"}

    r = client.images.edit(model="gemini-2.5-flash-image", image=("in.png", FAKE_PNG, "image/png"), prompt="make it blue")
    assert base64.b64decode(r.data[0].b64_json) == FAKE_PNG
    parts = upstream_last()["body"]["contents"][0]["parts"]
    assert parts[0]["inlineData"]["data"] == base64.b64encode(FAKE_PNG).decode()
    assert parts[1] == {"text": "make it blue"}


def test_embeddings_default_base64_and_floats(client):
    # The SDK asks for base64 by default and decodes it to floats itself.
    r = client.embeddings.create(model="gemini-embedding-001", input=["hello", "embeddings!"], dimensions=16)
    assert [len(d.embedding) for d in r.data] == [16, 16]
    assert [d.embedding[0] for d in r.data] == [5.0, 11.0]
    assert r.usage.prompt_tokens > 0 and r.model == "gemini-embedding-001"
    up = upstream_last()
    assert up["path"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert [q["outputDimensionality"] for q in up["body"]["requests"]] == [16, 16]
    floats = client.embeddings.create(model="gemini-embedding-001", input="one", encoding_format="float")
    assert floats.data[0].embedding[0] == 3.0 and len(floats.data[0].embedding) == 3072


def test_embeddings_refuse_an_empty_input(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="gemini-embedding-001", input=[])
    assert e.value.body["param"] == "input"
