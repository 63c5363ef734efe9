"""The official google-genai Python SDK, unmodified, talking to levity.

Run by tests/integration/real_clients.rs (levity with one Gemini account and
a client key, and the fake Gemini upstream). With a custom base URL the SDK
posts to /v1/models/{model}:generateContent and friends.
"""

import os

import httpx
from google import genai
from google.genai import types

URL = os.environ["LEVITY_URL"]
KEY = os.environ["LEVITY_KEY"]
FAKE = os.environ["FAKE_UPSTREAM_URL"]
MODEL = "gemini-2.5-flash"


# One client for the module: a client closes its connections when collected.
CLIENT = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=URL, api_version="v1beta"))


def client():
    return CLIENT


def upstream_last():
    return httpx.get(f"{FAKE}/_requests").json()[-1]


def test_generate():
    r = client().models.generate_content(
        model=MODEL,
        contents="hello gemini sdk",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.3),
    )
    assert r.text == "echo: hello gemini sdk"
    up = upstream_last()
    assert up["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert up["headers"]["x-goog-api-key"] == "AIzaREAL-CLIENT-KEY-0001", "auth replaced by the account's key"
    assert up["body"]["systemInstruction"]["parts"][0]["text"] == "Be brief."


def test_stream():
    chunks = list(client().models.generate_content_stream(model=MODEL, contents="reply streamed gemini"))
    assert len(chunks) > 3
    assert "".join(c.text or "" for c in chunks) == "streamed gemini"
    assert upstream_last()["path"].endswith(":streamGenerateContent?alt=sse")


def test_count_tokens():
    small = client().models.count_tokens(model=MODEL, contents="hi")
    big = client().models.count_tokens(model=MODEL, contents="word " * 1000)
    assert 0 < small.total_tokens < big.total_tokens


def test_function_calling():
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="Weather for a city",
        parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    r = client().models.generate_content(model=MODEL, contents='call get_weather {"city": "Oslo"}', config=config)
    call = r.function_calls[0]
    assert call.name == "get_weather" and call.args == {"city": "Oslo"}
    history = [
        types.Content(role="user", parts=[types.Part(text='call get_weather {"city": "Oslo"}')]),
        r.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"temp": 3})]),
    ]
    r = client().models.generate_content(model=MODEL, contents=history, config=config)
    assert r.text == 'tool result: {"temp":3}'


def test_embed_content_batch_with_dimensions():
    # The SDK sends embed_content as :batchEmbedContents, one request per text.
    r = client().models.embed_content(
        model="gemini-embedding-001",
        contents=["first text", "second"],
        config=types.EmbedContentConfig(output_dimensionality=8, task_type="RETRIEVAL_DOCUMENT"),
    )
    assert [len(e.values) for e in r.embeddings] == [8, 8]
    # The fake's first value is the text's length: the order held.
    assert [e.values[0] for e in r.embeddings] == [10.0, 6.0]
    up = upstream_last()
    assert up["path"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert [q["taskType"] for q in up["body"]["requests"]] == ["RETRIEVAL_DOCUMENT"] * 2
