#!/usr/bin/env python3
"""Turns a soak run's figures into SOAK.md and says whether it passed.

Input: the load generator's JSON (bench/soak_load.py), levity's /api/stats
before and after, the fake upstream's /stats, levity's account list, and a
few facts about the run (command, machine, date) as KEY=VALUE arguments.

Pass/fail:
  throughput  answers came at least at 95 % of the rate requests were sent
  accounting  levity counted exactly the requests that were answered (its
              /api/stats today, before vs after) and exactly as many errors
              as the clients saw failures: nothing lost, nothing invented
  memory      resident memory after the warm-up (the first 20 % of the run)
              grows by at most 10 %: the median of the last three samples
              against the median of the first three after the warm-up, so a
              single noisy sample neither hides nor fakes a leak
  files       the same rule for levity's open file descriptors
Exit status 1 when any check fails.
"""

import json
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def total(stats, field):
    return sum(d[field] for d in stats["series"])


def growth(samples, field, warm_s):
    """(baseline, end, growth fraction) after the warm-up."""
    after = [s[field] for s in samples if s["t"] > warm_s]
    if len(after) < 2:
        return None
    k = 3 if len(after) >= 6 else 1
    base = statistics.median(after[:k])
    end = statistics.median(after[-k:])
    return base, end, (end - base) / base if base else 0.0


def ms(v):
    return "–" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def main():
    load_path, before_path, after_path, upstream_path, accounts_path, out = sys.argv[1:7]
    facts = dict(a.split("=", 1) for a in sys.argv[7:])
    run = load(load_path)
    before, after = load(before_path), load(after_path)
    upstream = load(upstream_path)
    accounts = load(accounts_path)
    samples = [w for w in run["windows"] if "rss_kb" in w]

    counted = total(after, "requests") - total(before, "requests")
    counted_errors = total(after, "errors") - total(before, "errors")
    ok = run["outcomes"].get("ok", 0)
    client_failed = run["answered"] - ok
    checks = []
    checks.append(("accounting: levity counted every answered request",
                   counted == run["answered"], f"levity {counted}, answered {run['answered']} (sent {run['sent']})"))
    checks.append(("accounting: levity's errors match the failures clients saw",
                   counted_errors == client_failed, f"levity {counted_errors}, clients {client_failed}"))
    # Open loop: when answers come slower than requests are due, the backlog
    # (and the latency) grows for as long as the run lasts.
    kept_up = run["answer_rate"] >= 0.95 * run["send_rate"]
    checks.append(("throughput: levity kept up with the offered rate", kept_up,
                   f"answered {run['answer_rate']:g}/s on average, sent {run['send_rate']:g}/s"))
    warm = 0.2 * run["seconds"]
    for field, label, unit, scale in (("rss_kb", "memory (RSS)", "MB", 1 / 1024), ("fds", "open files", "", 1)):
        g = growth(samples, field, warm)
        if g is None:
            checks.append((f"{label}: too few samples after the warm-up", False, ""))
            continue
        base, end, frac = g
        checks.append((f"{label}: at most 10 % growth after the warm-up", frac <= 0.10,
                       f"{base * scale:.1f}{unit} → {end * scale:.1f}{unit} ({frac * 100:+.1f} %)"))
    passed = all(c[1] for c in checks)

    failed = {k: v for k, v in sorted(run["outcomes"].items()) if k != "ok"}
    sessions = f"{run['sessions']} conversations" if run["sessions"] else "a new conversation each"
    per_account = ", ".join(f"{a['name']}: {a['requests']}" for a in after["by_account"])
    faults = upstream.get("faults", {})
    lines = [
        "# Soak test",
        "",
        f"`{facts['command']}` (bench/soak.sh) on {facts['date']}: {facts['machine']}.",
        f"levity {facts['version']} ({facts['binary']}). Load generator, fake upstream and levity share the",
        f"machine{facts.get('note', '')}. Result: **{'PASS' if passed else 'FAIL'}**.",
        "",
        f"{run['rps']:g} requests/s for {run['seconds'] / 60:g} min, open loop (each request is due at a fixed time;",
        "latency counts from then), over "
        f"{run['connections']} keep-alive connections, in {sessions}, cycling through OpenAI Chat, Anthropic Messages,",
        "Gemini generateContent and OpenAI Responses, each streamed and not. levity has "
        f"{len(accounts)} Gemini accounts",
        f"on one fake upstream (bench/soak_upstream.py) that fails {facts['fault_rate']} of requests: 429 with",
        "Retry-After: 1, 503, 500, connection reset, and (streams) a stream cut after two chunks.",
        "",
        "## Summary",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| requests sent | {run['sent']} (at {run['send_rate']:g}/s) |",
        f"| answered | {run['answered']} (the last after {run['finish_s']:g} s: {run['answer_rate']:g}/s on average) |",
        f"| complete and correct | {ok} |",
        f"| failed, by cause | {', '.join(f'{k}: {v}' for k, v in failed.items()) or 'none'} |",
        f"| counted by levity (/api/stats) | {counted} requests, {counted_errors} errors |",
        f"| upstream calls (all accounts) | {upstream['requests']}, faults injected: "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(faults.items())) or 'none'} |",
        f"| retries and failovers | {upstream['requests'] - counted} upstream calls beyond one per request |",
        f"| sent again on a fresh connection | {run.get('resent', 0)} (levity had closed the kept-alive one) |",
        f"| requests per account | {per_account} |",
        "",
        "| check | result | figures |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {'pass' if good else '**FAIL**'} | {fig} |" for name, good, fig in checks]
    lines += [
        "",
        "A failed request here is one whose fault levity could not hide. A call that failed before",
        "its first byte moved to another account; a stream cut after it went on from another account",
        "in the same client stream (server/resume.rs, `stream_resumes`), the text already sent as",
        "the start of the model's turn.",
        "",
        "## By kind",
        "",
        "| kind | " + " | ".join(sorted({o for k in run["by_kind"].values() for o in k})) + " |",
    ]
    outs = sorted({o for k in run["by_kind"].values() for o in k})
    lines.append("| --- |" + " --- |" * len(outs))
    for kind, counts in run["by_kind"].items():
        lines.append(f"| {kind} | " + " | ".join(str(counts.get(o, 0)) for o in outs) + " |")
    lines += [
        "",
        f"## Over time ({run['window']:g}-s windows; warm-up: the first {warm:.0f} s)",
        "",
        "Latency in ms from the moment a request was due to its last byte, by when it was due."
        + ("" if kept_up else " levity answered slower than requests came, so requests queued for one of"
           f" the {run['connections']} connections and the latency grows with that backlog."),
        "RSS, open files and CPU are levity's, read from /proc at the end of each window.",
        "",
        "| due at (s) | sent | ok | failed | p50 | p90 | p99 | max | RSS MB | open files | levity CPU % |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w in run["windows"]:
        lines.append(f"| {w['start_s']:g}–{w['start_s'] + run['window']:g} "
                     f"| {w['sent']} | {w['ok']} | {w['failed']} | {ms(w['p50_ms'])} | {ms(w['p90_ms'])} "
                     f"| {ms(w['p99_ms'])} | {ms(w['max_ms'])} | {w.get('rss_kb', 0) / 1024:.1f} "
                     f"| {w.get('fds', '–')} | {w.get('cpu_pct', '–')} |")
    if run.get("examples"):
        lines += ["", "## What a failure looked like (the end of one answer of each kind)", ""]
        for outcome, texts in sorted(run["examples"].items()):
            text = texts[0][-240:].replace("`", "'").replace("\n", " ")
            lines.append(f"- {outcome}: `{text}`")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    for name, good, fig in checks:
        print(f"soak: {'pass' if good else 'FAIL'}: {name}: {fig}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
