#!/bin/bash
# `make bench`: W1, W2, W6 (shared/bench/WORKLOADS.md) on tandem and oneTBB (Google Benchmark), then
# the same workloads on Python (shared/peers/python/run_all.sh), in one sitting; prints the
# side-by-side table (markdown) on stdout and saves it as <build>/bench/results-<stamp>.md.
# Progress and Google Benchmark's console output go to stderr.
#
# Usage: bench/run.sh [build-dir]            (default: build/release; build it first)
# Env:   REPS=3               Python runs per workload (run_all.sh's REPS)
#        CXX_REPS=max(5,REPS) Google Benchmark repetitions per C++ benchmark (5: this shared VM
#                             has moments where a run takes twice as long; a median of 3 can land
#                             on one, and the C++ runs cost seconds)
#        W6_LIMIT=5000000     primes below this, for C++ and Python alike (same work on both sides)
#        BENCH_SKIP_PYTHON=1  no Python run: the table has no Python column and says so
#        TANDEM_PEERS=<repo>/../shared/peers   where the peers live
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
BUILD="$(cd "${1:-$REPO/build/release}" && pwd)"  # absolute: run_all.sh changes directory
PY=/usr/bin/python3  # Debian's: the table needs only its standard library
REPS=${REPS:-3}
CXX_REPS=${CXX_REPS:-$((REPS > 5 ? REPS : 5))}
W6_LIMIT=${W6_LIMIT:-5000000}
PEERS="${TANDEM_PEERS:-$REPO/../shared/peers}"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$BUILD/bench"
RAW="$OUT/raw-$STAMP"  # every input of the table, kept beside it

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

for exe in tandem_pool_bench tandem_primes_bench; do
  if [ ! -x "$OUT/$exe" ]; then
    log "$OUT/$exe not found: build first (cmake --preset release && cmake --build --preset release)"
    exit 1
  fi
done
mkdir -p "$RAW"
# What is measured is the working tree as built; note uncommitted library changes.
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no -- include src 2>/dev/null)" ]; then
  COMMIT="$COMMIT (library sources modified in the working tree)"
fi

# Random interleaving runs the repetitions of different benchmarks in a shuffled order, so a noisy
# moment on the machine spreads over every system instead of landing on one of them.
GB=(--benchmark_repetitions="$CXX_REPS" --benchmark_enable_random_interleaving=true
    --benchmark_display_aggregates_only=true --benchmark_out_format=json)

log "W1, W2: tandem and oneTBB, $CXX_REPS repetitions"
"$OUT/tandem_pool_bench" "${GB[@]}" --benchmark_out="$RAW/pool.json" >&2
log "W6 below $W6_LIMIT: sequential, tandem, oneTBB, $CXX_REPS repetitions"
W6_LIMIT=$W6_LIMIT "$OUT/tandem_primes_bench" "${GB[@]}" --benchmark_out="$RAW/primes.json" >&2

PY_ARGS=()
if [ "${BENCH_SKIP_PYTHON:-0}" = 1 ]; then
  PY_ARGS=(--python-note "skipped (BENCH_SKIP_PYTHON=1)")
elif [ ! -f "$PEERS/python/run_all.sh" ]; then
  PY_ARGS=(--python-note "no Python peers at $PEERS (set TANDEM_PEERS)")
else
  log "Python peers W1 W2 W6 (REPS=$REPS, W6_LIMIT=$W6_LIMIT; its W6 takes about a minute a run at 5M)"
  # run_all.sh records a failed run in raw.jsonl rather than exiting non-zero; table.py reports it.
  RESULTS_DIR="$RAW/python" REPS=$REPS ONLY="W1 W2 W6" W6_LIMIT=$W6_LIMIT \
    bash "$PEERS/python/run_all.sh" >&2 || log "run_all.sh exited with $?"
  PY_RAW=$(find "$RAW/python" -name raw.jsonl | head -n 1)
  if [ -n "$PY_RAW" ]; then
    PY_ARGS=(--python "$PY_RAW")
  else
    PY_ARGS=(--python-note "run_all.sh produced no raw.jsonl (see $RAW/python)")
  fi
fi

"$PY" "$HERE/table.py" --pool "$RAW/pool.json" --primes "$RAW/primes.json" --commit "$COMMIT" \
  "${PY_ARGS[@]}" > "$OUT/results-$STAMP.md"
cat "$OUT/results-$STAMP.md"
log "saved $OUT/results-$STAMP.md (inputs in $RAW)"
