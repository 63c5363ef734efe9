#!/usr/bin/env bash
# `make fuzz`: every fuzz target for FUZZ_SECS seconds (default 60) on the
# stable toolchain (libFuzzer's coverage, no sanitizer: safe Rust needs
# none), starting from the committed seeds (fuzz/seeds, grown from the real
# client requests in tests/fixtures). Writes FUZZ.md. A crash stops the run
# with the input saved under fuzz/artifacts: fix it, add the input to
# fuzz/seeds/<target> and a unit test beside the code that failed.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${FUZZ_SECS:-60}
TARGETS=(client_requests upstream_answers sse passthrough schema config_import upstream_urls)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
python3 seed.py
cargo +stable fuzz build -s none -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$work/$t" artifacts/"$t"
  log="$work/$t.log"
  echo "fuzz: $t for ${SECS}s"
  if ! cargo +stable fuzz run -s none -O "$t" "$work/$t" "seeds/$t" -- \
      -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t FOUND A CRASH (see fuzz/artifacts/$t)" >&2
    exit 1
  fi
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  seeds=$(ls "seeds/$t" | wc -l)
  found=$(ls "$work/$t" | wc -l)
  rows+=("| $t | $SECS s | $execs | $((execs / SECS))/s | $cov | $seeds | $found | 0 |")
done
{
  echo "# Fuzzing"
  echo
  echo "Produced by \`make fuzz\` (fuzz/run.sh, FUZZ_SECS=$SECS) on $(date -u +%Y-%m-%d): $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), stable Rust, libFuzzer coverage without a sanitizer."
  echo
  echo "| target | time | runs | runs/s | coverage (edges) | seeds | new inputs | crashes |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Targets: \`client_requests\` (the four client protocols' decoders, then validation and every"
  echo "upstream encoder), \`upstream_answers\` (Gemini, Anthropic and OpenAI answer and stream decoders,"
  echo "error decoders), \`sse\` (the event parser, whole against cut in pieces), \`passthrough\` (the check on"
  echo "streams passed through: the client gets the upstream's bytes unchanged, or a body that still parses,"
  echo "for Gemini's JSON array a valid array ending in an error), \`schema\` (the schema cleaner, idempotent),"
  echo "\`config_import\` (settings validation and reading, the Google import file)."
  regressions=$(cd seeds && ls -d -- */regression-* 2>/dev/null || true)
  if [ -n "$regressions" ]; then
    echo
    echo "Crashes found by earlier runs, fixed, and kept as seeds (each also has a unit or integration test):"
    echo
    for r in $regressions; do echo "- \`fuzz/seeds/$r\`"; done
  fi
} > ../FUZZ.md
cat ../FUZZ.md
