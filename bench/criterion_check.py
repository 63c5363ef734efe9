#!/usr/bin/env python3
"""Criterion's figures against the committed baseline (issue #21).

Reads the medians `cargo bench --bench translate` left in target/criterion,
divides each by the run's calibration figure (the captured request parsed
as a JSON value, measured in the same run), and compares the ratios with bench/criterion-baseline.json:
a figure more than 25 % above its baseline fails. Comparing ratios, not
nanoseconds, keeps a slower or faster machine from failing or passing
everything at once.

    bench/criterion_check.py            check (exit 1 on a regression)
    bench/criterion_check.py --update   write the baseline from this run
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
BASELINE = ROOT / "bench" / "criterion-baseline.json"
CALIBRATION = "calibration: the 57 KB request parsed as a JSON value"
LIMIT = 1.25


def medians():
    out = {}
    for est in CRITERION.glob("*/new/estimates.json"):
        bench = json.loads((est.parent / "benchmark.json").read_text())
        out[bench["full_id"]] = json.loads(est.read_text())["median"]["point_estimate"]
    return out


def main():
    figures = medians()
    if CALIBRATION not in figures:
        sys.exit(f"criterion_check: no `{CALIBRATION}` in {CRITERION}: run cargo bench --bench translate first")
    unit = figures[CALIBRATION]
    ratios = {name: ns / unit for name, ns in sorted(figures.items()) if name != CALIBRATION}
    if "--update" in sys.argv:
        BASELINE.write_text(json.dumps({"calibration_ns": round(unit, 1), "ratios": ratios}, indent=2) + "\n")
        print(f"criterion_check: baseline written for {len(ratios)} figures")
        return
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
            worse.append(f"{name}: {change - 1:+.0%}")
    missing = sorted(set(base) - set(ratios))
    if missing:
        worse.append("no longer measured: " + ", ".join(missing))
    if worse:
        sys.exit("criterion_check: regressed by more than 25 %:\n  " + "\n  ".join(worse))
    print(f"criterion_check: {len(ratios)} figures within 25 % of the baseline")


if __name__ == "__main__":
    main()
