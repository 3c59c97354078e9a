#!/bin/bash
# `make bench`: in one sitting, the thread-pool workloads W1, W2, W6 (shared/bench/WORKLOADS.md) on
# tandem and oneTBB (Google Benchmark), the event-loop workloads W3, W3b, W4 and a loopback echo
# on tandem::aio, Asio's C++20 coroutines and Boost.Fiber (standalone programs, one run per
# process), and the process-pool workloads W5, W5b, W6, round-trip latency and start-up per start
# method on tandem::process_pool (bench/process_bench.cpp, one run per process); then the same
# workloads on Python (shared/peers/python/run_all.sh, bench/echo_asyncio.py for the echo with
# asyncio and uvloop, and a multiprocessing latency/start-up peer written out below). Prints the side-by-side table
# (markdown) on stdout and saves it as <build>/bench/results-<stamp>.md; progress and the programs'
# own output go to stderr.
#
# Usage: bench/run.sh [build-dir]            (default: build/release; build it first)
# Env:   REPS=3               Python runs per workload (run_all.sh's REPS)
#        CXX_REPS=max(5,REPS) Google Benchmark repetitions per C++ benchmark, and runs of each C++
#                             event-loop program (5: this shared VM has moments where a run takes
#                             twice as long; a median of 3 can land on one, and the C++ runs cost
#                             seconds)
#        W6_LIMIT=5000000     primes below this, for C++ and Python alike (same work on both sides)
#        BENCH_ONLY="pool loop proc http"  which parts: pool = W1 W2 W6 (threads), loop = W3 W3b
#                             W4 echo, proc = W5 W5b W6 (processes), latency, start-up, http = W9
#                             (http::session, aiohttp, tornado+pycurl, threads+urllib and wrk
#                             against one nginx) and the server (wrk against http::server and
#                             aiohttp.web)
#        BENCH_SKIP_PYTHON=1  no Python run: the table has no Python columns and says so
#        ECHO_ARGS="100 1000 64"  echo: connections, messages per connection, message bytes
#        LOOP_TMO=120         seconds after which one event-loop run is stopped (a failed run)
#        TANDEM_PEERS=<repo>/../shared/peers   where the peers live
#
# tandem's own event-loop programs (tandem_aio_timers, _queue, _echo) are outside the default build
# while the aio API moves (bench/CMakeLists.txt): this script builds them, and one that is not
# defined yet or does not build leaves its tandem cells empty, with the reason in the table. The
# Asio and Boost.Fiber peers need `make deps-bench`; without them their cells are empty too.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
BUILD="$(cd "${1:-$REPO/build/release}" && pwd)"  # absolute: run_all.sh changes directory
PY=/usr/bin/python3  # Debian's: the table needs only its standard library
REPS=${REPS:-3}
CXX_REPS=${CXX_REPS:-$((REPS > 5 ? REPS : 5))}
W6_LIMIT=${W6_LIMIT:-5000000}
BENCH_ONLY=${BENCH_ONLY:-pool loop proc http}
ECHO_ARGS=${ECHO_ARGS:-100 1000 64}
PEERS="${TANDEM_PEERS:-$REPO/../shared/peers}"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$BUILD/bench"
RAW="$OUT/raw-$STAMP"  # every input of the table, kept beside it

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

part() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }
if ! part pool && ! part loop && ! part proc && ! part http; then
  log "BENCH_ONLY='$BENCH_ONLY': expected one or more of pool, loop, proc, http"
  exit 2
fi
if part pool; then
  for exe in tandem_pool_bench tandem_primes_bench; do
    if [ ! -x "$OUT/$exe" ]; then
      log "$OUT/$exe not found: build first (cmake --preset release && cmake --build --preset release)"
      exit 1
    fi
  done
fi
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

TABLE_ARGS=()
if part pool; then
  log "W1, W2: tandem and oneTBB, $CXX_REPS repetitions"
  "$OUT/tandem_pool_bench" "${GB[@]}" --benchmark_out="$RAW/pool.json" >&2
  log "W6 below $W6_LIMIT: sequential, tandem, oneTBB, $CXX_REPS repetitions"
  W6_LIMIT=$W6_LIMIT "$OUT/tandem_primes_bench" "${GB[@]}" --benchmark_out="$RAW/primes.json" >&2
  TABLE_ARGS+=(--pool "$RAW/pool.json" --primes "$RAW/primes.json")
fi

# ---------------------------------------------------------------- event-loop programs
# Each run is a fresh process printing one JSON line; run_loop appends it to loop.jsonl with its
# label, repetition and exit status (the record format of run_all.sh's raw.jsonl, so table.py reads
# both alike). A program that is missing gets one "skipped" record saying why instead.
LOOP_RAW="$RAW/loop.jsonl"
JSONL="$LOOP_RAW"  # where record appends; the proc part points it at proc.jsonl
LOOP_TMO=${LOOP_TMO:-120}  # the longest event-loop run, the Python echo, takes about 13 s here

# record LABEL REP RC CMD OUTFILE ERRFILE [SKIPPED-REASON]: appends one record to loop.jsonl.
record() {
  "$PY" - "$@" >> "$JSONL" <<'PYEOF'
import json, sys
label, rep, rc, cmd, out, err = sys.argv[1:7]
skipped = sys.argv[7] if len(sys.argv) > 7 else ""
rec = None
if not skipped:
    for line in reversed(open(out, errors="replace").read().splitlines()):
        if line.strip().startswith("{"):
            try:
                rec = json.loads(line)
                break
            except ValueError:
                pass
if skipped:
    rec = {"skipped": skipped}
elif rec is None or rc != "0":
    rec = dict(rec or {})
    rec["error"] = "rc=%s" % rc
    rec["stderr_tail"] = open(err, errors="replace").read()[-1500:]
rec.update(label=label, rep=int(rep), rc=int(rc), cmd=cmd)
print(json.dumps(rec))
PYEOF
}

# run_loop LABEL REP CMD...: runs CMD under timeout, records it.
run_loop() {
  local label=$1 rep=$2 rc=0
  shift 2
  timeout -k 10 "$LOOP_TMO" "$@" > "$RAW/.out" 2> "$RAW/.err" || rc=$?
  record "$label" "$rep" "$rc" "$*" "$RAW/.out" "$RAW/.err"
  cat "$RAW/.err" >&2
  log "  $label rep$rep rc=$rc $(tail -n 1 "$JSONL" | cut -c1-200)"
}

# skip LABEL REASON: one record saying why LABEL has no figure.
skip() {
  record "$1" 0 0 "" /dev/null /dev/null "$2"
  log "  $1: $2"
}

if part loop; then
  : > "$LOOP_RAW"
  # tandem's aio programs: (re)build each; a stale executable from an older tree must not stand
  # in for one that no longer builds, so remove it first.
  declare -A AIO_WHY=()
  for exe in tandem_aio_timers tandem_aio_queue tandem_aio_echo; do
    rm -f "$OUT/$exe"
    if cmake --build "$BUILD" --target "$exe" > "$RAW/build-$exe.log" 2>&1 && [ -x "$OUT/$exe" ]; then
      continue
    fi
    if grep -q "unknown target" "$RAW/build-$exe.log"; then
      AIO_WHY[$exe]="$exe not defined: its aio header is not in the tree yet (bench/CMakeLists.txt)"
    else
      AIO_WHY[$exe]="$exe did not build (see $RAW/build-$exe.log)"
    fi
    log "${AIO_WHY[$exe]}"
  done
  have() { [ -x "$OUT/$1" ]; }
  asio_why="tandem_asio_peers not built: make deps-bench installs libasio-dev, then rebuild"
  fiber_why="tandem_fiber_peers not built: make deps-bench installs libboost-fiber-dev, then rebuild"
  read -r ECHO_CONNS ECHO_MSGS ECHO_BYTES <<< "$ECHO_ARGS"
  # With aio::gather in the tree the aio rows use it; the create_task way (one await per handle)
  # is then measured too, for the detailed table.
  AIO_BOTH=0
  if have tandem_aio_timers && { "$OUT/tandem_aio_timers" 2>&1 || true; } | grep -q "gather available"; then
    AIO_BOTH=1
  fi

  # Repetitions outermost and the systems inside, so a noisy moment spreads over every system.
  log "W3 (100,000 sleeping tasks), W3b (1,000,000 spawns), W4 (queue), echo ($ECHO_CONNS x $ECHO_MSGS x $ECHO_BYTES B): $CXX_REPS runs each"
  for r in $(seq 1 "$CXX_REPS"); do
    if have tandem_aio_timers; then
      run_loop W3/aio "$r" "$OUT/tandem_aio_timers" w3
      run_loop W3b/aio/ret "$r" "$OUT/tandem_aio_timers" w3b ret
      run_loop W3b/aio/sleep0 "$r" "$OUT/tandem_aio_timers" w3b sleep0
      if [ "$AIO_BOTH" = 1 ]; then
        run_loop W3/aio/create_task "$r" "$OUT/tandem_aio_timers" w3 100000 create_task
        run_loop W3b/aio/ret/create_task "$r" "$OUT/tandem_aio_timers" w3b ret create_task
      fi
    fi
    if have tandem_asio_peers; then
      run_loop W3/asio "$r" "$OUT/tandem_asio_peers" w3
      run_loop W3b/asio/ret "$r" "$OUT/tandem_asio_peers" w3b ret
      run_loop W3b/asio/yield "$r" "$OUT/tandem_asio_peers" w3b yield
      run_loop W4/asio "$r" "$OUT/tandem_asio_peers" w4
      run_loop echo/asio "$r" "$OUT/tandem_asio_peers" echo $ECHO_ARGS
    fi
    if have tandem_aio_queue; then run_loop W4/aio "$r" "$OUT/tandem_aio_queue" w4; fi
    if have tandem_fiber_peers; then run_loop W4/fiber "$r" "$OUT/tandem_fiber_peers" w4; fi
    if have tandem_aio_echo; then run_loop echo/aio "$r" "$OUT/tandem_aio_echo" echo $ECHO_ARGS; fi
  done
  have tandem_aio_timers || for l in W3/aio W3b/aio/ret W3b/aio/sleep0; do skip "$l" "${AIO_WHY[tandem_aio_timers]}"; done
  have tandem_aio_queue || skip W4/aio "${AIO_WHY[tandem_aio_queue]}"
  have tandem_aio_echo || skip echo/aio "${AIO_WHY[tandem_aio_echo]}"
  have tandem_asio_peers || for l in W3/asio W3b/asio/ret W4/asio echo/asio; do skip "$l" "$asio_why"; done
  have tandem_fiber_peers || skip W4/fiber "$fiber_why"
  TABLE_ARGS+=(--loop "$LOOP_RAW")
fi

# ---------------------------------------------------------------- process-pool programs
# tandem_process_bench runs one workload per process (W5, W5b in two forms, latency, W6 with
# processes and threads, start-up per start method), recorded in proc.jsonl as the loop programs
# are in loop.jsonl. Like them it is outside the default build (bench/CMakeLists.txt): built here.
PROC_RAW="$RAW/proc.jsonl"
PROC_WHY=""
if part proc; then
  : > "$PROC_RAW"
  JSONL="$PROC_RAW"
  exe=tandem_process_bench
  rm -f "$OUT/$exe"
  if ! { cmake --build "$BUILD" --target "$exe" > "$RAW/build-$exe.log" 2>&1 && [ -x "$OUT/$exe" ]; }; then
    if grep -q "unknown target" "$RAW/build-$exe.log"; then
      PROC_WHY="$exe not defined: include/tandem/process/process_pool.hpp is not in the tree"
    else
      PROC_WHY="$exe did not build (see $RAW/build-$exe.log)"
    fi
    log "$PROC_WHY"
  fi
  PROC_LABELS=(W5/tandem W5b/tandem/submit W5b/tandem/imap latency/tandem W6proc/tandem
               startup/tandem/fork startup/tandem/forkserver startup/tandem/spawn)
  if [ -z "$PROC_WHY" ]; then
    log "W5, W5b, latency, W6 (processes and threads, below $W6_LIMIT), start-up: $CXX_REPS runs each"
    for r in $(seq 1 "$CXX_REPS"); do
      run_loop W5/tandem "$r" "$OUT/$exe" w5
      run_loop W5b/tandem/submit "$r" "$OUT/$exe" w5b_submit
      run_loop W5b/tandem/imap "$r" "$OUT/$exe" w5b_imap
      run_loop latency/tandem "$r" "$OUT/$exe" latency
      run_loop W6proc/tandem "$r" env W6_LIMIT="$W6_LIMIT" "$OUT/$exe" w6
      for m in fork forkserver spawn; do run_loop "startup/tandem/$m" "$r" "$OUT/$exe" startup "$m"; done
    done
  else
    for l in "${PROC_LABELS[@]}"; do skip "$l" "$PROC_WHY"; done
  fi
  JSONL="$LOOP_RAW"
  TABLE_ARGS+=(--proc "$PROC_RAW")
fi

# ---------------------------------------------------------------- http: W9 and the server
# W9: one nginx (the shared peers' template: 1 worker, 1 KiB file) on a free loopback port, and
# against it, in one sitting: wrk -t1 -c100 (the ceiling a client can pull from it; one thread,
# since nginx has the other core), tandem_http_client_bench and w9_http.py's aiohttp,
# tornado_curl and threads_urllib, each under /usr/bin/time for its peak RSS. The server: wrk
# -t1 -c100 against tandem_http_server_bench and bench/aiohttp_web_server.py (1 KiB each).
HTTP_RAW="$RAW/http.jsonl"
free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# stop_pid PID: TERM, wait up to 10 s, then KILL; reaps it.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# run_rss LABEL REP CMD...: run_loop under /usr/bin/time, adding the peak RSS (KiB) to the record.
run_rss() {
  local label=$1 rep=$2
  shift 2
  run_loop "$label" "$rep" /usr/bin/time -f "%M" -o "$RAW/.rss" "$@"
  "$PY" - "$JSONL" "$RAW/.rss" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rec = json.loads(lines[-1])
try:
    rec["maxrss_kb"] = int(open(sys.argv[2]).read().split()[-1])
except (OSError, ValueError, IndexError):
    pass
lines[-1] = json.dumps(rec)
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PYEOF
}
# run_wrk LABEL REP URL: wrk -t1 -c100 -d5s, recorded as {"rate": requests/s, ...}.
run_wrk() {
  run_loop "$1" "$2" "$PY" -c '
import json, re, subprocess, sys
out = subprocess.run(["wrk", "-t1", "-c100", "-d5s", sys.argv[1]], capture_output=True, text=True,
                     check=True).stdout
rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
errors = re.search(r"Socket errors: (.*)", out)
if not rate or bad:
    sys.exit("wrk: " + out)
print(json.dumps({"workload": "wrk", "rate": float(rate.group(1)), "unit": "req/s",
                  "socket_errors": errors.group(1) if errors else ""}))' "$3"
}
# start_server CMD...: starts a server that prints its port on its first stdout line; sets
# SRV_PID and SRV_PORT (empty if it did not come up within 10 s).
start_server() {
  "$@" > "$RAW/.srv" 2> "$RAW/.srv.err" &
  SRV_PID=$!
  SRV_PORT=""
  for _ in $(seq 1 200); do
    SRV_PORT=$(head -n 1 "$RAW/.srv" 2> /dev/null || true)
    [ -n "$SRV_PORT" ] && break
    sleep 0.05
  done
}

# py_why MODULE...: empty if Debian's python3 imports them all, else why the peer cannot run.
py_why() {
  local m
  [ "${BENCH_SKIP_PYTHON:-0}" = 1 ] && { echo "skipped (BENCH_SKIP_PYTHON=1)"; return; }
  for m in "$@"; do
    "$PY" -c "import $m" 2> /dev/null || { echo "python3-$m is not installed (make deps-bench)"; return; }
  done
}
# The servers this part starts are stopped by PID, also when the script stops early.
NGINX_PID=""
SRV_PID=""
http_stop_all() {
  if [ -n "$NGINX_PID" ]; then stop_pid "$NGINX_PID"; fi
  if [ -n "$SRV_PID" ]; then stop_pid "$SRV_PID"; fi
  NGINX_PID=""
  SRV_PID=""
}

if part http; then
  : > "$HTTP_RAW"
  JSONL="$HTTP_RAW"
  HTTP_WHY=""
  for tool in nginx wrk; do
    command -v "$tool" > /dev/null || HTTP_WHY="$tool is not installed (make deps-bench)"
  done
  for exe in tandem_http_client_bench tandem_http_server_bench; do
    [ -n "$HTTP_WHY" ] && break
    cmake --build "$BUILD" --target "$exe" > "$RAW/build-$exe.log" 2>&1 && [ -x "$OUT/$exe" ] ||
      HTTP_WHY="$exe did not build (see $RAW/build-$exe.log)"
  done
  W9_LABELS=(W9/wrk W9/tandem_session W9/aiohttp W9/tornado_curl W9/threads_urllib)
  SRV_LABELS=(server/tandem server/aiohttp_web)
  if [ -z "$HTTP_WHY" ]; then
    ND=""
    trap 'http_stop_all; [ -z "$ND" ] || rm -rf "$ND"' EXIT
    trap 'exit 130' INT TERM  # through the EXIT trap
    # W9's Python peers: each skipped, with the reason, when it cannot run.
    if [ -f "$PEERS/python/w9_http.py" ]; then
      declare -A W9_PY_WHY=([aiohttp]="$(py_why aiohttp)" [tornado_curl]="$(py_why tornado pycurl)"
        [threads_urllib]="$(py_why)")
    else
      nope="no Python peers at $PEERS (set TANDEM_PEERS)"
      declare -A W9_PY_WHY=([aiohttp]="$nope" [tornado_curl]="$nope" [threads_urllib]="$nope")
    fi
    ND=$(mktemp -d /tmp/tandem-w9.XXXXXX)
    chmod 755 "$ND"  # nginx's worker runs unprivileged
    mkdir "$ND/www"
    head -c 1024 /dev/urandom > "$ND/www/1k.bin"
    chmod 644 "$ND/www/1k.bin"
    NPORT=$(free_port)
    up=""
    if [ ! -f "$PEERS/python/nginx_w9.conf.tmpl" ]; then
      why="no nginx_w9.conf.tmpl at $PEERS/python (set TANDEM_PEERS)"
    else
      sed -e "s#@DIR@#$ND#g" -e "s#@PORT@#$NPORT#g" "$PEERS/python/nginx_w9.conf.tmpl" > "$ND/nginx.conf"
      nginx -c "$ND/nginx.conf" -p "$ND/" -g 'daemon off;' > "$ND/stdout.log" 2>&1 &
      NGINX_PID=$!
      URL="http://127.0.0.1:$NPORT/1k.bin"
      for _ in $(seq 1 50); do
        [ "$(curl -s --noproxy '*' "$URL" 2> /dev/null | wc -c)" = 1024 ] && { up=1; break; }
        sleep 0.2
      done
      why="nginx did not come up: $(cat "$ND/error.log" "$ND/stdout.log" 2> /dev/null | tail -c 300)"
    fi
    if [ -z "$up" ]; then
      for l in "${W9_LABELS[@]}"; do skip "$l" "$why"; done
    else
      log "W9 against nginx pid $NGINX_PID on 127.0.0.1:$NPORT: wrk, tandem, aiohttp, tornado_curl, threads_urllib; $REPS runs each"
      for m in aiohttp tornado_curl threads_urllib; do
        if [ -n "${W9_PY_WHY[$m]}" ]; then skip "W9/$m" "${W9_PY_WHY[$m]}"; fi
      done
      for r in $(seq 1 "$REPS"); do
        run_wrk W9/wrk "$r" "$URL"
        run_rss W9/tandem_session "$r" "$OUT/tandem_http_client_bench" "$URL"
        for m in aiohttp tornado_curl threads_urllib; do
          if [ -z "${W9_PY_WHY[$m]}" ]; then
            run_rss "W9/$m" "$r" "$PY" "$PEERS/python/w9_http.py" "$m" "$URL"
          fi
        done
      done
    fi
    http_stop_all
    rm -rf "$ND"

    log "server: wrk -t1 -c100 -d5s against http::server and aiohttp.web (1 KiB), $REPS runs each"
    WEB_WHY=$(py_why aiohttp)
    for pair in "server/tandem $OUT/tandem_http_server_bench" "server/aiohttp_web $PY $HERE/aiohttp_web_server.py"; do
      label=${pair%% *}
      read -r -a cmd <<< "${pair#* }"
      if [ "$label" = server/aiohttp_web ] && [ -n "$WEB_WHY" ]; then
        skip "$label" "$WEB_WHY"
        continue
      fi
      start_server "${cmd[@]}"
      if [ -z "$SRV_PORT" ]; then
        skip "$label" "the server did not start: $(tail -c 500 "$RAW/.srv.err")"
      else
        for r in $(seq 1 "$REPS"); do run_wrk "$label" "$r" "http://127.0.0.1:$SRV_PORT/"; done
      fi
      http_stop_all
    done
    trap - EXIT INT TERM
    rm -f "$RAW/.srv" "$RAW/.srv.err" "$RAW/.rss"
  else
    for l in "${W9_LABELS[@]}" "${SRV_LABELS[@]}"; do skip "$l" "$HTTP_WHY"; done
  fi
  JSONL="$LOOP_RAW"
  TABLE_ARGS+=(--http "$HTTP_RAW")
fi

PY_ARGS=()
if [ "${BENCH_SKIP_PYTHON:-0}" = 1 ]; then
  PY_ARGS=(--python-note "skipped (BENCH_SKIP_PYTHON=1)")
elif [ ! -f "$PEERS/python/run_all.sh" ]; then
  PY_ARGS=(--python-note "no Python peers at $PEERS (set TANDEM_PEERS)")
elif ! part pool && ! part loop && ! part proc; then
  # The http part runs its Python peers itself, against its own nginx.
  PY_ARGS=(--python-note "the http part's Python peers are in its own table")
else
  PY_ONLY=""
  part pool && PY_ONLY="W1 W2 W6"
  part loop && PY_ONLY="$PY_ONLY W3 W3b W4"
  # W6's Python run measures mp.Pool(2) and threads in one go: once serves both parts.
  part proc && PY_ONLY="$PY_ONLY W5" && { part pool || PY_ONLY="$PY_ONLY W6"; }
  log "Python peers $PY_ONLY (REPS=$REPS, W6_LIMIT=$W6_LIMIT; W6 takes about a minute a run at 5M, W3b about a minute a repetition)"
  # run_all.sh records a failed run in raw.jsonl rather than exiting non-zero; table.py reports it.
  RESULTS_DIR="$RAW/python" REPS=$REPS ONLY="$PY_ONLY" W6_LIMIT=$W6_LIMIT \
    bash "$PEERS/python/run_all.sh" >&2 || log "run_all.sh exited with $?"
  PY_RAW=$(find "$RAW/python" -name raw.jsonl | head -n 1)
  if [ -n "$PY_RAW" ]; then
    PY_ARGS=(--python "$PY_RAW")
  else
    PY_ARGS=(--python-note "run_all.sh produced no raw.jsonl (see $RAW/python)")
  fi
fi

# The Python echo pair is this repository's (bench/echo_asyncio.py), so it runs even without the
# shared peers; it goes into loop.jsonl beside the C++ echo runs.
if part loop && [ "${BENCH_SKIP_PYTHON:-0}" != 1 ]; then
  log "Python echo pair: asyncio and uvloop, $REPS runs each"
  for r in $(seq 1 "$REPS"); do
    for l in asyncio uvloop; do run_loop "echo/$l" "$r" "$PY" "$HERE/echo_asyncio.py" "$l" $ECHO_ARGS; done
  done
fi

# The Python side of latency and start-up: the shared peers have neither, so this script writes a
# small one (multiprocessing.Pool and ProcessPoolExecutor, 2 workers, the same counts as
# process_bench.cpp) into the raw folder and records it in proc.jsonl beside the C++ runs.
if part proc && [ "${BENCH_SKIP_PYTHON:-0}" != 1 ]; then
  cat > "$RAW/proc_peer.py" <<'PYEOF'
"""latency METHOD: 2,000 sequential round trips on a warm 2-worker pool (Pool.apply or
ProcessPoolExecutor.submit().result()), each timed -> median/p90/p99 us. startup START_METHOD:
mp.get_context(m).Pool(2) + one apply, 10 times -> median s; close() + join() timed apart, as
process_bench.cpp times shutdown(). One JSON line."""
import json, multiprocessing as mp, statistics, sys, time
from concurrent.futures import ProcessPoolExecutor


def double(x):
    return x * 2


def q(xs, f):  # nearest rank, as process_bench.cpp
    return xs[max(1, min(len(xs), int(f * len(xs) + 0.999999))) - 1]


def main():
    what, arg = sys.argv[1], sys.argv[2]
    if what == "latency":
        n = 2000
        if arg == "mp_pool_apply":
            pool = mp.Pool(2)
            pool.map(double, range(4), chunksize=1)
            call = lambda i: pool.apply(double, (i,))
        else:
            pool = ProcessPoolExecutor(2)
            list(pool.map(double, range(4)))
            call = lambda i: pool.submit(double, i).result()
        us, total = [], 0
        t0 = time.perf_counter()
        for i in range(n):
            a = time.perf_counter()
            total += call(i)
            us.append((time.perf_counter() - a) * 1e6)
        wall = time.perf_counter() - t0
        if arg == "mp_pool_apply":
            pool.close(); pool.join()
        else:
            pool.shutdown(wait=True)
        assert total == n * (n - 1), total
        us.sort()
        print(json.dumps({"workload": "latency", "method": arg, "n": n,
                          "start_method": mp.get_start_method(), "median_us": q(us, 0.5),
                          "p90_us": q(us, 0.9), "p99_us": q(us, 0.99), "min_us": us[0],
                          "max_us": us[-1], "rate": n / wall, "unit": "round trips/s",
                          "wall_s": wall, "check": total}))
    elif what == "startup":
        ctx, s, down = mp.get_context(arg), [], []
        for _ in range(10):
            t0 = time.perf_counter()
            pool = ctx.Pool(2)
            v = pool.apply(double, (21,))
            s.append(time.perf_counter() - t0)
            assert v == 42
            t1 = time.perf_counter()
            pool.close(); pool.join()
            down.append(time.perf_counter() - t1)
        s.sort(); down.sort()
        print(json.dumps({"workload": "startup", "method": "mp.Pool(2) " + arg, "start_method": arg,
                          "n": len(s), "median_s": q(s, 0.5), "min_s": s[0], "max_s": s[-1],
                          "wall_s": q(s, 0.5), "shutdown_median_s": q(down, 0.5),
                          "shutdown_max_s": down[-1]}))


if __name__ == "__main__":
    main()
PYEOF
  JSONL="$PROC_RAW"
  log "Python latency and start-up peers (multiprocessing), $REPS runs each"
  for r in $(seq 1 "$REPS"); do
    for m in mp_pool_apply ppe_submit; do run_loop "latency/$m" "$r" "$PY" "$RAW/proc_peer.py" latency "$m"; done
    for m in fork forkserver spawn; do run_loop "startup/mp_pool/$m" "$r" "$PY" "$RAW/proc_peer.py" startup "$m"; done
  done
  JSONL="$LOOP_RAW"
fi

"$PY" "$HERE/table.py" "${TABLE_ARGS[@]}" --commit "$COMMIT" \
  "${PY_ARGS[@]}" > "$OUT/results-$STAMP.md"
rm -f "$RAW/.out" "$RAW/.err"
cat "$OUT/results-$STAMP.md"
log "saved $OUT/results-$STAMP.md (inputs in $RAW)"
