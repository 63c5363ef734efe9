#!/usr/bin/env python3
"""Criterion's figures against the committed baseline (issue #21).

Reads the medians `cargo bench --bench translate` left in target/criterion,
divides each by the run's calibration figure (the captured request scanned
as JSON, measured in the same run), and compares the ratios with bench/criterion-baseline.json:
a figure more than 25 % above its baseline fails. Comparing ratios, not
nanoseconds, keeps a slower or faster machine from failing or passing
everything at once.

    bench/criterion_check.py            check (exit 1 on a regression)
    bench/criterion_check.py --rerun    check; figures over the limit are
                                        measured again (with the calibration),
                                        up to 3 times, before failing: a
                                        shared machine has slow seconds
    bench/criterion_check.py --update   write the baseline from this run
    bench/criterion_check.py --widen    keep, per figure, the slower of the
                                        baseline and this run (a baseline is
                                        written from several runs: --update,
                                        then --widen after each further run)
"""
import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "criterion"
BASELINE = ROOT / "bench" / "criterion-baseline.json"
CALIBRATION = "calibration: the 57 KB request scanned as JSON"
LIMIT = 1.25
RERUNS = 3


def medians():
    out = {}
    for est in CRITERION.glob("*/new/estimates.json"):
        bench = json.loads((est.parent / "benchmark.json").read_text())
        out[bench["full_id"]] = json.loads(est.read_text())["median"]["point_estimate"]
    return out


def check():
    """The figures over the limit, after printing the comparison."""
    figures = medians()
    if CALIBRATION not in figures:
        sys.exit(f"criterion_check: no `{CALIBRATION}` in {CRITERION}: run cargo bench --bench translate first")
    unit = figures[CALIBRATION]
    ratios = {name: ns / unit for name, ns in sorted(figures.items()) if name != CALIBRATION}
    if "--widen" in sys.argv:
        old = json.loads(BASELINE.read_text())
        ratios = {k: max(v, old["ratios"].get(k, 0)) for k, v in ratios.items()}
        unit = old["calibration_ns"]
    if "--update" in sys.argv or "--widen" in sys.argv:
        BASELINE.write_text(json.dumps({"calibration_ns": round(unit, 1), "ratios": ratios}, indent=2) + "\n")
        print(f"criterion_check: baseline written for {len(ratios)} figures")
        return [], 0
    base = json.loads(BASELINE.read_text())["ratios"]
    worse = []
    print(f"{'figure':58} {'baseline':>9} {'now':>9} {'change':>8}")
    for name, ratio in ratios.items():
        if name not in base:
            print(f"{name:58} {'(new)':>9} {ratio:9.3f}")
            continue
        change = ratio / base[name]
        print(f"{name:58} {base[name]:9.3f} {ratio:9.3f} {change - 1:+8.1%}")
        if change > LIMIT:
            worse.append((name, f"{name}: {change - 1:+.0%}"))
    missing = sorted(set(base) - set(ratios))
    if missing:
        worse.append((None, "no longer measured: " + ", ".join(missing)))
    return worse, len(ratios)


def main():
    worse, count = check()
    # A shared machine has slow seconds, and noise only ever makes a figure
    # slower: a figure over the limit is measured again (with the
    # calibration), up to RERUNS times, and passes once it is within. A real
    # regression is over the limit every time.
    for attempt in range(RERUNS if "--rerun" in sys.argv else 0):
        names = [n for n, _ in worse if n]
        if not names or len(names) != len(worse):
            break
        print(f"criterion_check: measuring {len(names)} figure(s) again ({attempt + 1} of {RERUNS})")
        only = "^(" + "|".join(re.escape(n) for n in [CALIBRATION] + names) + ")$"
        subprocess.run(["cargo", "bench", "--bench", "translate", "--", "--warm-up-time", "1",
                        "--measurement-time", "5", only], check=True, cwd=ROOT)
        still, count = check()
        worse = [w for w in still if w[0] in names or w[0] is None]
    if worse:
        sys.exit("criterion_check: regressed by more than 25 %:\n  " + "\n  ".join(w for _, w in worse))
    if "--update" not in sys.argv and "--widen" not in sys.argv:
        print(f"criterion_check: {count} figures within 25 % of the baseline")


if __name__ == "__main__":
    main()
