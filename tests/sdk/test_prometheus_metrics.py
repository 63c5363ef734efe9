"""levity's /metrics read by the official Prometheus Python client's parser
(prometheus_client.parser, the text format 0.0.4 as Prometheus reads it),
after real requests from the OpenAI SDK.

Run by tests/integration/real_clients.rs like the SDK suites: levity with one
Gemini account ("real-clients") and a client key, and the fake Gemini.
"""

import os

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

URL = os.environ["LEVITY_URL"]
KEY = os.environ["LEVITY_KEY"]
MODEL = "gemini-2.5-flash"


def scrape(**headers):
    return httpx.get(f"{URL}/metrics", headers=headers)


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def family_of(fams, name):
    # The parser names a counter's family without its `_total`.
    return fams.get(name) or fams[f"{name}_total"]


def samples(fams, family, name=None, **labels):
    return [
        s for s in family_of(fams, family).samples
        if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())
    ]


@pytest.fixture(scope="module")
def after_requests():
    client = openai.OpenAI(base_url=f"{URL}/v1", api_key=KEY, max_retries=0)
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello metrics"}])
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "streamed metrics"}], stream=True,
    )
    for _ in stream:
        pass
    # A model nothing serves: an error, counted as one.
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    r = scrape(authorization=f"Bearer {KEY}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return families(r.text)


def test_requests_tokens_and_errors_are_counted_by_protocol_model_account_and_key(after_requests):
    fams = after_requests
    ok = samples(fams, "levity_requests", "levity_requests_total", protocol="openai-chat", model=MODEL, account="real-clients")
    assert len(ok) == 1 and ok[0].value >= 2, ok
    key = ok[0].labels["key"]
    assert key, "the client key's name labels its requests"
    [inp] = samples(fams, "levity_input_tokens", "levity_input_tokens_total", model=MODEL, key=key)
    [out] = samples(fams, "levity_output_tokens", "levity_output_tokens_total", model=MODEL, key=key)
    assert inp.value > 0 and out.value > 0
    assert family_of(fams, "levity_cached_tokens").type == "counter"
    assert family_of(fams, "levity_cost_usd").type == "counter"
    [err] = samples(fams, "levity_request_errors", "levity_request_errors_total", model="no-such-model")
    assert err.value == 1


def test_latency_and_time_to_first_token_are_histograms(after_requests):
    fams = after_requests
    assert fams["levity_request_duration_seconds"].type == "histogram"
    buckets = samples(fams, "levity_request_duration_seconds", "levity_request_duration_seconds_bucket", model=MODEL)
    counts = [s.value for s in sorted(buckets, key=lambda s: float(s.labels["le"]))]
    assert counts == sorted(counts) and counts[-1] >= 2, counts
    [count] = samples(fams, "levity_request_duration_seconds", "levity_request_duration_seconds_count", model=MODEL)
    assert count.value == counts[-1]
    ttft = samples(fams, "levity_time_to_first_token_seconds", "levity_time_to_first_token_seconds_count", model=MODEL)
    assert ttft and ttft[0].value >= 1


def test_attempts_and_account_states(after_requests):
    fams = after_requests
    [ok] = samples(fams, "levity_attempts", "levity_attempts_total", account="real-clients", outcome="ok")
    assert ok.value >= 2
    [state] = samples(fams, "levity_account_state", account="real-clients")
    assert state.labels["kind"] == "gemini" and state.labels["state"] == "active" and state.value == 1


def test_nobody_reads_it_without_a_credential():
    assert scrape().status_code == 401
    assert scrape(authorization="Bearer sk-not-a-key").status_code == 401
    # A web page that rebinds a name of its own to 127.0.0.1.
    assert scrape(authorization=f"Bearer {KEY}", host="evil.example:8045").status_code == 403
