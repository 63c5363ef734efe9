#!/usr/bin/env python3
"""Writes BENCHMARKS.md from what bench/run.sh measured.

    report.py RESULTS.tsv OUT.md [CARRY_FROM.md]

RESULTS.tsv holds one line per measurement: target, metric, value; a metric
taken several times (one per run) has several lines, and every figure shown is
their median with half their spread. The run's settings and the machine come
in the environment (see the end of bench/run.sh). The sections on translation
alone (`cargo bench`) and on prompt-cache hits (bench/sticky.py) do not come
from here: they are carried over from CARRY_FROM (by default OUT itself).
"""
import os
import statistics
import sys
from collections import defaultdict
from datetime import datetime, timezone

ORDER = ["upstream", "nginx", "upstream-57k", "nginx-57k", "litellm", "ccr", "portkey", "levity", "levity-anthropic", "levity-cluster"]
CARRIED = "## Translation alone"


def load(path):
    data = defaultdict(list)
    with open(path) as f:
        for line in f:
            target, metric, value = line.rstrip("\n").split("\t")
            if value != "":
                data[target, metric].append(float(value))
    return data


class Figures:
    def __init__(self, data):
        self.data = data

    def med(self, target, metric):
        xs = self.data.get((target, metric))
        return statistics.median(xs) if xs else None

    def cell(self, target, metric, scale=1.0, digits=3):
        """"median (±half spread)", or a dash where nothing was measured."""
        xs = self.data.get((target, metric))
        if not xs:
            return "–"
        m = statistics.median(xs) * scale
        spread = (max(xs) - min(xs)) / 2 * scale
        if len(xs) == 1:
            return num(m, digits)
        return f"{num(m, digits)} (±{num(spread, digits)})"

    def ratio(self, a, ma, b, mb):
        x, y = self.med(a, ma), self.med(b, mb)
        if x is None or y is None or y == 0:
            return None
        return x / y


def num(x, digits=3):
    """Up to `digits` significant figures, no exponent, no trailing zeros."""
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    s = f"{x:.{digits}g}"
    if "e" in s:
        s = f"{x:.{max(0, digits - 1)}f}"
    return s


def runs(n):
    return "one run" if str(n) == "1" else f"{n} runs"


def times(x):
    return "–" if x is None else f"{num(x, 2)}×"


def main():
    results, out = sys.argv[1], sys.argv[2]
    f = Figures(load(results))
    env = os.environ
    streams, trickle, interval = int(env["STREAMS"]), float(env["TRICKLE"]), float(env["INTERVAL"])
    chunks = round(trickle / interval)
    present = [t for t in ORDER if any(k[0] == t for k in f.data)]
    workers = env.get("LITELLM_WORKERS", "?")
    names = {
        "upstream": "fake upstream, direct",
        "nginx": f"nginx {env.get('V_NGINX', '')} (reverse proxy)",
        "upstream-57k": "fake upstream, direct, sent the 57 KB request",
        "nginx-57k": f"nginx {env.get('V_NGINX', '')} (reverse proxy), sent the 57 KB request",
        "litellm": f"LiteLLM {env.get('V_LITELLM', '')} ({workers} workers)",
        "ccr": f"claude-code-router {env.get('V_CCR', '')}",
        "portkey": f"Portkey gateway {env.get('V_PORTKEY', '')}",
        "levity": f"levity {env.get('V_LEVITY', '')}",
        "levity-anthropic": "levity, Anthropic in",
        "levity-cluster": "levity, cluster of two (Redis)",
    }
    s1_in = {"upstream": "Gemini", "nginx": "Gemini", "litellm": "OpenAI Chat → Gemini",
             "ccr": "Anthropic → Gemini", "portkey": "OpenAI Chat → Gemini", "levity": "OpenAI Chat → Gemini",
             "levity-anthropic": "Anthropic → Gemini", "levity-cluster": "OpenAI Chat → Gemini"}
    s2_in = {"upstream": "Gemini", "nginx": "Gemini", "litellm": "Anthropic → Gemini",
             "ccr": "Anthropic → Gemini", "levity": "Anthropic → Gemini"}
    s3_in = {"upstream": "Gemini", "nginx": "Gemini", "litellm": "OpenAI Chat → Gemini",
             "ccr": "Anthropic → Gemini", "portkey": "OpenAI Chat → Gemini", "levity": "OpenAI Chat → Gemini"}
    # Which levity row a peer is compared with: the one taking the same protocol.
    twin1 = {"ccr": "levity-anthropic"}

    L = []
    w = L.append
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    w("# Benchmarks")
    w("")
    w(f"Produced by `make bench` (bench/run.sh) on {date}: {env.get('BENCH_CORES')} cores, "
      f"{env.get('BENCH_CPU')}. Scenarios 1 and 2: each figure is the median of "
      f"{runs(env['RUNS'])} of wrk for {env['DURATION']} (± half the spread); scenario 3: "
      f"median of {runs(env['S3_RUNS'])}, each on a freshly started target (start figures: "
      "of every start). Load generator, fake "
      "upstreams and the system under test share the same cores, in a network namespace with "
      "only loopback, so absolute numbers are pessimistic; compare the rows.")
    w("")
    w("Every target is pointed at the same fake Gemini: nginx serving fixed answers for "
      f"scenarios 1 and 2, and for scenario 3 bench/trickle.py, which sends a chunk every "
      f"{num(interval * 1000)} ms for {num(trickle)} s. Added latency is the target's "
      "percentile minus the fake's own (below zero: lost in the fake's own noise).")
    w("")

    # ---- Issue #7's targets.
    lev = "levity"
    add50 = sub(f.med(lev, "s1_p50"), f.med("upstream", "s1_p50"))
    add99 = sub(f.med(lev, "s1_p99"), f.med("upstream", "s1_p99"))
    held = f.med(lev, "s3_held")
    rows = [
        ("added latency p50 ≤ 0.25 ms (scenario 1)", add50, lambda x: x <= 0.25, " ms"),
        ("added latency p99 ≤ 1 ms (scenario 1)", add99, lambda x: x <= 1.0, " ms"),
    ]
    # The issue sets the throughput targets for scenario 1; scenario 2's
    # ratios are shown beside them for reference, not judged (nginx passes
    # the 57 KB request and the stream through untranslated).
    for s, label, judged in (("s1", "scenario 1", True), ("s2", "scenario 2, for reference", False)):
        if "litellm" in present:
            rows.append((f"throughput ≥ 10× LiteLLM's ({label})",
                         f.ratio(lev, f"{s}_rps", "litellm", f"{s}_rps"),
                         (lambda x: x >= 10) if judged else None, "×"))
        rows.append((f"throughput ≥ 0.5× nginx's ({label})",
                     f.ratio(lev, f"{s}_rps", "nginx", f"{s}_rps"),
                     (lambda x: x >= 0.5) if judged else None, "×"))
    rss3 = f.med(lev, "s3_rss_kb")
    if streams == 1000:
        rows.append(("1,000 concurrent streams in ≤ 100 MB resident",
                     None if rss3 is None else rss3 / 1024,
                     lambda x: x <= 100 and held is not None and held >= streams, " MB"))
    idle = f.med(lev, "idle_kb")
    rows.append(("idle ≤ 15 MB resident", None if idle is None else idle / 1024, lambda x: x <= 15, " MB"))
    rows.append(("start to ready ≤ 50 ms", f.med(lev, "ready_ms"), lambda x: x <= 50, " ms"))
    size = f.med(lev, "size_b")
    rows.append(("binary ≤ 20 MB", None if size is None else size / 2**20, lambda x: x <= 20, " MB"))
    # Issue #20: cluster mode beside one instance, same request.
    cl50 = sub(f.med("levity-cluster", "s1_p50"), f.med(lev, "s1_p50"))
    rows.append(("cluster mode within 20 µs of one instance at p50 (scenario 1, issue #20)",
                 None if cl50 is None else cl50 * 1000, lambda x: x <= 20, " µs"))
    # Issue #21: the bar raised to the best published gateways' figures.
    rows.append(("added latency p50 ≤ 60 µs (scenario 1, issue #21)",
                 None if add50 is None else add50 * 1000, lambda x: x <= 60, " µs"))
    rows.append(("added latency p99 ≤ 100 µs (scenario 1, issue #21)",
                 None if add99 is None else add99 * 1000, lambda x: x <= 100, " µs"))
    rows.append(("57 KB Claude Code request streamed: throughput ≥ 0.5× nginx's (scenario 2, issue #21)",
                 f.ratio(lev, "s2_rps", "nginx", "s2_rps"), lambda x: x >= 0.5, "×"))
    ttft = sub(f.med(lev, "s4_ttft_us"), f.med("upstream", "s4_ttft_us"))
    chunk = sub(f.med(lev, "s4_chunk_us"), f.med("upstream", "s4_chunk_us"))
    rows.append(("added time to first token ≤ 150 µs (scenario 4, issue #21)", ttft, lambda x: x <= 150, " µs"))
    rows.append(("per-chunk overhead ≤ 5 µs at p50 (scenario 4, issue #21)", chunk, lambda x: x <= 5, " µs"))
    rows.append((f"throughput with a {env.get('LATENCY', '?')} ms upstream at {env.get('CONNS5', '?')} "
                 "connections ≥ 0.9× nginx's (scenario 5, issue #21)",
                 f.ratio(lev, "s5_rps", "nginx", "s5_rps"), lambda x: x >= 0.9, "×"))
    # For reference: the same beyond what nginx's own hop adds (a proxy in
    # between costs a wake-up and a copy on each side, here on two shared cores).
    ttft_n = sub(f.med(lev, "s4_ttft_us"), f.med("nginx", "s4_ttft_us"))
    chunk_n = sub(f.med(lev, "s4_chunk_us"), f.med("nginx", "s4_chunk_us"))
    rows.append(("added time to first token beyond nginx's (scenario 4, reference)", ttft_n, None, " µs"))
    rows.append(("per-chunk overhead beyond nginx's (scenario 4, reference)", chunk_n, None, " µs"))
    if streams == 1000:
        rows.append(("1,000 concurrent streams in ≤ 40 MB resident (issue #21)",
                     None if rss3 is None else rss3 / 1024, lambda x: x <= 40, " MB"))
    after = f.med(lev, "after_kb")
    rows.append(("back under 20 MB resident a minute after scenarios 1–2 (issue #21)",
                 None if after is None else after / 1024, lambda x: x <= 20, " MB"))
    rows.append(("idle ≤ 12 MB resident (issue #21)", None if idle is None else idle / 1024,
                 lambda x: x <= 12, " MB"))
    w("## Targets (issues #7, #20 and #21)")
    w("")
    w("| target | levity | |")
    w("| --- | --- | --- |")
    for label, value, ok, unit in rows:
        if value is None:
            w(f"| {label} | not measured | – |")
        else:
            verdict = "reference" if ok is None else "met" if ok(value) else "**missed**"
            w(f"| {label} | {num(value, 3)}{unit} | {verdict} |")
    if streams != 1000:
        w("")
        w(f"(This run held {streams} streams, not 1,000: the memory target is not judged.)")
    w("")

    # ---- Scenario 1.
    w("## 1. Small request, whole answer")
    w("")
    w("| target | protocol | p50 ms (1 conn) | p99 ms (1 conn) | added p50 ms | added p99 ms "
      "| req/s (64 conns) | ÷ fake | levity ÷ this |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in present:
        if f.med(t, "s1_rps") is None:
            continue
        a50 = sub(f.med(t, "s1_p50"), f.med("upstream", "s1_p50"))
        a99 = sub(f.med(t, "s1_p99"), f.med("upstream", "s1_p99"))
        twin = twin1.get(t, lev)
        vs = "" if t.startswith("levity") else times(f.ratio(twin, "s1_rps", t, "s1_rps"))
        w(f"| {names[t]} | {s1_in[t]} | {f.cell(t, 's1_p50')} | {f.cell(t, 's1_p99')} "
          f"| {opt(a50) if t != 'upstream' else ''} | {opt(a99) if t != 'upstream' else ''} "
          f"| {f.cell(t, 's1_rps', digits=4)} | {times(f.ratio(t, 's1_rps', 'upstream', 's1_rps'))} | {vs} |")
    w("")
    if "ccr" in present:
        w("claude-code-router takes Anthropic Messages only: its `/v1/chat/completions` route "
          "never learns the provider (it reads `provider,model` from the model name on "
          "`/v1/messages` alone) and answers 404 `provider_not_found`. Its row takes the same "
          "small request as Anthropic Messages, and is compared with levity's row taking that.")
        w("")

    if "portkey" in present:
        w("Portkey's gateway is told the provider, the fake's address and the key in its "
          "documented request headers (`x-portkey-provider: google`, `x-portkey-custom-host`, "
          "`authorization`); its `/v1/messages` refuses Google upstreams (\"messages is not "
          "supported by google\"), so it has no row in scenario 2.")
        w("")

    # ---- Scenario 2.
    w("## 2. Streamed answer, 50 chunks (the captured 57 KB Claude Code request)")
    w("")
    w("| target | protocol | p50 ms to last byte (1 conn) | p99 ms | req/s (16 conns) | ÷ fake | levity ÷ this |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for t in present:
        if f.med(t, "s2_rps") is None:
            continue
        vs = "" if t == lev else times(f.ratio(lev, "s2_rps", t, "s2_rps"))
        w(f"| {names[t]} | {s2_in[t]} | {f.cell(t, 's2_p50')} | {f.cell(t, 's2_p99')} "
          f"| {f.cell(t, 's2_rps', digits=4)} | {times(f.ratio(t, 's2_rps', 'upstream', 's2_rps'))} | {vs} |")
    w("")
    w("Every target is sent the same 57 KB request. The fake reads and drops it; nginx passes "
      "it on and the Gemini stream back as they are (the body held in memory, "
      "`client_body_buffer_size 128k`); the others translate the Claude Code request (tools, "
      "system prompt, cache marks) to Gemini and the stream back.")
    if "litellm" in present:
        w("LiteLLM turns the request's `cache_control` marks into Gemini context caching: before "
          "each generation it lists `cachedContents` and creates one, so it makes three upstream "
          "calls where the others make one (the fake answers each in microseconds; against Gemini "
          "the list would find the cache from the second request on, and it would make two).")
    w("")

    # ---- Scenario 3.
    w(f"## 3. {streams:,} slow streams at once ({num(trickle)} s each, a chunk every "
      f"{num(interval * 1000)} ms)")
    w("")
    window = int(trickle) + max(2, int(trickle) // 3)
    w(f"wrk opens {streams:,} streams at once and one more client counts the chunks of its own "
      f"stream ({chunks} expected). Memory is the peak of the resident set of the target's "
      "processes (workers included), sampled every 0.25 s; CPU is their CPU time over the first "
      f"{num(trickle - 1)} s divided by that time (100 % = one core); streams held is the "
      "most connections to the trickling fake seen open at once (the counting client's "
      f"included); completed counts the streams that ended within wrk's {window} s, and their "
      f"length should be {num(trickle)} s: a target that cannot pass "
      f"{streams / interval:,.0f} chunks a second on falls behind, and finishes fewer.")
    w("")
    w(f"| target | protocol | peak RSS MB | CPU % | streams held | completed in {window} s "
      "| stream length p50 s | chunks counted | levity's RSS ÷ this |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in present:
        if f.med(t, "s3_rss_kb") is None:
            continue
        vs = "" if t == lev else times(f.ratio(lev, "s3_rss_kb", t, "s3_rss_kb"))
        w(f"| {names[t]} | {s3_in[t]} | {f.cell(t, 's3_rss_kb', 1 / 1024)} | {f.cell(t, 's3_cpu')} "
          f"| {f.cell(t, 's3_held', digits=5)} | {f.cell(t, 's3_done', digits=5)} "
          f"| {f.cell(t, 's3_len_s', digits=4)} | {f.cell(t, 's3_chunks')} | {vs} |")
    w("")
    w("The fake's row is the load generator on the fake directly. nginx passes chunks on "
      "unbuffered (`proxy_buffering off`), as it is configured for server-sent events.")
    if "litellm" in present:
        w(f"LiteLLM's upstream pool is raised past its default 500 connections per host and "
          f"worker (`AIOHTTP_CONNECTOR_LIMIT_PER_HOST`) so that it may hold {streams:,} streams.")
    w("")

    # ---- Scenario 4.
    if any(k[1] == "s4_ttft_us" for k in f.data):
        w(f"## 4. Streams one at a time: time to first token and per-chunk delay")
        w("")
        w("bench/trickle.py stamps each of 50 chunks, 5 ms apart, with the time it writes it "
          f"(CLOCK_MONOTONIC); bench/stamps.py opens {env.get('STAMPED', '?')} streams one after "
          "the other and takes, for every chunk, its arrival minus its stamp, and for every "
          "stream, its first chunk's arrival minus the request's sending. Medians; added is the "
          "target's minus the fake's own.")
        w("")
        w("| target | protocol | time to first token µs | added µs | beyond nginx µs "
          "| delay per chunk µs | added µs | beyond nginx µs |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        heavy_in = "Gemini (the 57 KB Claude Code request)"
        s4_in = dict(s3_in, **{"upstream-57k": heavy_in, "nginx-57k": heavy_in,
                               "levity-anthropic": "Anthropic → Gemini (the 57 KB Claude Code request)"})
        # The heavy row is measured against the fake and nginx sent the same body.
        heavy = f.med("upstream-57k", "s4_ttft_us") is not None
        for t in present:
            if f.med(t, "s4_ttft_us") is None:
                continue
            big = heavy and t in ("upstream-57k", "nginx-57k", "levity-anthropic")
            fake, ngx = ("upstream-57k", "nginx-57k") if big else ("upstream", "nginx")
            at = sub(f.med(t, "s4_ttft_us"), f.med(fake, "s4_ttft_us"))
            ac = sub(f.med(t, "s4_chunk_us"), f.med(fake, "s4_chunk_us"))
            nt = sub(f.med(t, "s4_ttft_us"), f.med(ngx, "s4_ttft_us"))
            nc = sub(f.med(t, "s4_chunk_us"), f.med(ngx, "s4_chunk_us"))
            own = t != fake
            far = t not in ("upstream", "nginx", "upstream-57k", "nginx-57k")
            w(f"| {names[t]} | {s4_in[t]} | {f.cell(t, 's4_ttft_us', digits=4)} "
              f"| {opt(at) if own else ''} | {opt(nt) if far else ''} "
              f"| {f.cell(t, 's4_chunk_us')} | {opt(ac) if own else ''} "
              f"| {opt(nc) if far else ''} |")
        w("")
        if heavy:
            w("The 57 KB request's row is measured against the fake and nginx sent that same "
              "request; the other rows against them sent the small one.")
            w("")

    # ---- Scenario 5.
    if any(k[1] == "s5_rps" for k in f.data):
        lat, conns = env.get("LATENCY", "?"), env.get("CONNS5", "?")
        w(f"## 5. A slow upstream: {lat} ms per answer, {conns} connections")
        w("")
        w(f"The small request of scenario 1, from {conns} connections at once, to a fake that "
          f"answers after {lat} ms (examples/slow_upstream.rs; nginx keeps {conns} upstream "
          "connections alive). The ceiling is connections ÷ latency; what a target loses "
          "below it is its own cost per request and its queueing.")
        w("")
        w("| target | protocol | p50 ms | p99 ms | req/s | ÷ fake | ÷ nginx |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        for t in present:
            if f.med(t, "s5_rps") is None:
                continue
            w(f"| {names[t]} | {s1_in[t]} | {f.cell(t, 's5_p50')} | {f.cell(t, 's5_p99')} "
              f"| {f.cell(t, 's5_rps', digits=4)} | {times(f.ratio(t, 's5_rps', 'upstream', 's5_rps'))} "
              f"| {times(f.ratio(t, 's5_rps', 'nginx', 's5_rps')) if t != 'upstream' else ''} |")
        w("")

    # ---- Footprint.
    w("## 6. Start, memory at rest, size")
    w("")
    w("| target | start to ready ms | RSS idle after start MB | RSS after scenarios 1–2 MB "
      "| a minute later MB | size on disk MB |")
    w("| --- | --- | --- | --- | --- | --- |")
    what = {"nginx": "the nginx binary", "litellm": "bench/.venv, Python excluded",
            "ccr": "its package, dependencies bundled, Node.js excluded",
            "portkey": "its package and dependencies, Node.js excluded",
            "levity": "the binary, dashboard included"}
    for t in present:
        if f.med(t, "idle_kb") is None:
            continue
        sz = f.med(t, "size_b")
        szc = "–" if sz is None else f"{num(sz / 2**20)} ({what[t]})"
        w(f"| {names[t]} | {f.cell(t, 'ready_ms')} | {f.cell(t, 'idle_kb', 1 / 1024)} "
          f"| {f.cell(t, 'busy_kb', 1 / 1024)} | {f.cell(t, 'after_kb', 1 / 1024)} | {szc} |")
    w("")
    w("nginx's start is the scenario-3 instance's (its configuration is one proxy); LiteLLM's "
      "includes importing its Python packages.")
    w("")

    # ---- levity beside each peer.
    peers = [p for p in ("upstream", "nginx", "litellm", "ccr", "portkey") if p in present]
    w("## levity beside each (levity ÷ the other)")
    w("")
    w("| figure | " + " | ".join(names[p].split(" (")[0] for p in peers) + " |")
    w("| --- |" + " --- |" * len(peers))
    figs = [("req/s, scenario 1", "s1_rps", True), ("req/s, scenario 2", "s2_rps", True),
            ("peak RSS, scenario 3 (lower is better)", "s3_rss_kb", False),
            ("CPU, scenario 3 (lower is better)", "s3_cpu", False),
            ("RSS idle (lower is better)", "idle_kb", False),
            ("start to ready (lower is better)", "ready_ms", False)]
    for label, metric, _ in figs:
        cells = []
        for p in peers:
            mine = twin1.get(p, lev) if metric == "s1_rps" else lev
            cells.append(times(f.ratio(mine, metric, p, metric)))
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")

    # ---- The fake is not the bottleneck.
    up1, up2 = f.med("upstream", "s1_rps"), f.med("upstream", "s2_rps")
    best1 = max((f.med(t, "s1_rps") or 0) for t in present if t != "upstream")
    best2 = max((f.med(t, "s2_rps") or 0) for t in present if t != "upstream")
    w("## The fake upstream is not the bottleneck")
    w("")
    if up1 and up2 and best1 and best2:
        w(f"Served directly, the fake answers {num(up1, 4)} req/s in scenario 1 and {num(up2, 4)} "
          f"in scenario 2: {num(up1 / best1, 2)}× and {num(up2 / best2, 2)}× the fastest target "
          "measured through it, so each target's rate is its own, not the fake's (and the fake, "
          "the load generator and the target share the two cores, so every figure above is an "
          "underestimate). In scenario 3 the trickling fake held "
          f"{num(f.med('upstream', 's3_held') or 0, 5)} streams on its own in "
          f"{num((f.med('upstream', 's3_rss_kb') or 0) / 1024)} MB at "
          f"{num(f.med('upstream', 's3_cpu') or 0)} % CPU.")
    errs = [(t, k[1], sum(v)) for k, v in f.data.items() for t in [k[0]] if k[1].endswith("_errors")]
    if errs:
        w("")
        w("Errors seen (non-2xx answers, socket errors and timeouts, summed over the runs): "
          + "; ".join(f"{names[t]} {m.split('_')[0]}: {num(n, 6)}" for t, m, n in sorted(errs)) + ".")
    w("")

    # ---- Carried over.
    try:
        with open(sys.argv[3] if len(sys.argv) > 3 else out) as old:
            text = old.read()
        if CARRIED in text:
            # To the end: the stickiness table (bench/sticky.py) follows it.
            L.append(text[text.index(CARRIED):])
    except FileNotFoundError:
        pass
    with open(out, "w") as new:
        new.write("\n".join(L).rstrip("\n") + "\n")


def sub(a, b):
    return None if a is None or b is None else a - b


def opt(x):
    return "–" if x is None else num(x, 3)


if __name__ == "__main__":
    main()
