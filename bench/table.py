#!/usr/bin/python3
"""Builds bench/run.sh's side-by-side table (markdown, on stdout) from one sitting's raw results:
Google Benchmark JSON for tandem and oneTBB (pool.json: W1, W2; primes.json: W6), the event-loop
programs' loop.jsonl (W3, W3b, W4, echo on tandem::aio, Asio, Boost.Fiber, and the asyncio/uvloop
echo pair), the process-pool program's proc.jsonl (W5, W5b, latency, W6 with processes, start-up;
and run.sh's multiprocessing latency/start-up peer) and, if given, the Python peers' raw.jsonl
(shared/peers/python/run_all.sh). Any part may be absent (run.sh's BENCH_ONLY). Standard library
only.

Every figure is the median of the repetitions (min-max beside it). Ratios:
  W1, W2 (throughput): tandem rate / peer rate; above 1 means tandem is faster.
  W6: speedup = median sequential wall time / median 2-worker wall time, per system; the
      difference is (tandem speedup / peer speedup - 1) in %. Python's peer is its better 2-worker
      speedup (ThreadPoolExecutor or multiprocessing.Pool).
  W3, W3b, W4, echo: how many times better tandem::aio is than the peer: rate / peer rate for
      throughputs, peer / aio for wall seconds and bytes per task; above 1 means aio is better.
  W5, W5b, latency, start-up: the same "how many times better" against multiprocessing.Pool and
      ProcessPoolExecutor. W6 with processes: each system's 2-process speedup beside its
      2-thread speedup (process speedup / thread speedup - 1, in %).
  W9 (http.jsonl): requests/s of each client against one nginx, as a ratio to aiohttp and as a
      fraction of wrk's; peak RSS of each client. The server: wrk's requests/s against
      http::server and aiohttp.web."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess

# The lead's targets (the issue): name, workload row, peer, how the ratio is judged.
W1_VS_TBB = 1.5  # W1 tasks/s >= 1.5 x oneTBB task_group
W1_VS_PY = 100.0  # W1 tasks/s >= 100 x ThreadPoolExecutor
W2_VS_TBB = 1.0  # W2 items/s >= oneTBB parallel_for (results consumed)
W6_TOLERANCE_PCT = 2.0  # W6 2-worker speedup no more than 2% below oneTBB's
# The event loop's targets (issue 3), on 2 cores, same sitting.
W3_WALL_MAX = 1.03  # W3: 100,000 tasks sleeping 1.0 s finish within this many seconds
W3_BYTES_MAX = 200  # W3: RSS per sleeping task, bytes
W3B_VS_ASIO = 8.0  # W3b tasks/s >= 8 x Asio's co_spawn
W4_VS_FIBER = 1.0  # W4 items/s >= Boost.Fiber's buffered_channel
# The process pool's targets (issue 4), on 2 cores, same sitting.
W5_VS_POOL = 5.0  # W5 items/s >= 5 x multiprocessing.Pool.map
W5B_VS_POOL = 10.0  # W5b tasks/s >= 10 x Pool.imap_unordered(chunksize=1)
W6_PROC_TOLERANCE_PCT = 3.0  # W6 2-process speedup no more than 3% below the thread pool's
# The http layer's targets (issue 5), on 2 cores, same sitting.
W9_VS_AIOHTTP = 10.0  # W9 requests/s >= 10 x aiohttp
W9_OF_WRK = 0.80  # the goal: 80% of what wrk pulls from the same nginx
SERVER_VS_AIOHTTP = 10.0  # http::server requests/s under wrk >= 10 x aiohttp.web
# A repetition is "quiet" when other processes used less than this many cores during it
# (/proc/stat counts 10 ms ticks, so a few hundredths of a core is noise).
QUIET_OTHERS = 0.1
# The table warns about a benchmark whose median repetition had other processes on this many cores.
BUSY_OTHERS = 0.25


def gbench_runs(path):
    """{"W1/tandem_submit": {"secs", "rate", "cores", "others", "quiet_secs": [...], "error": str|None}}
    from the individual repetitions (run_type "iteration") of a Google Benchmark JSON file."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    doc = json.load(open(path))
    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        key = "/".join(b["run_name"].split("/")[:2])  # drop "/iterations:1/real_time"
        r = out.setdefault(key, {"secs": [], "rate": [], "cores": [], "others": [], "quiet_secs": [],
                                 "error": None})
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        r["secs"].append(b["real_time"] * scale[b["time_unit"]])
        # cpu_time is the whole process's (MeasureProcessCPUTime): CPU / wall = cores kept busy.
        r["cores"].append(b["cpu_time"] / b["real_time"] if b["real_time"] else 0.0)
        if "items_per_second" in b:
            r["rate"].append(b["items_per_second"])
        # others_cpu (bench/load_probe.hpp): cores other processes used during this repetition.
        if "others_cpu" in b:
            r["others"].append(b["others_cpu"])
            if b["others_cpu"] < QUIET_OTHERS:
                r["quiet_secs"].append(r["secs"][-1])
    return doc["context"], out


def python_runs(path):
    """{label: [ok records]}, {label: [error strings]} from run_all.sh's raw.jsonl."""
    ok, bad = {}, {}
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if "skipped" in r:  # run.sh: a program that was not there; its reason is reported
            continue
        if r.get("rc") == 0 and "error" not in r:
            ok.setdefault(r["label"], []).append(r)
        else:
            bad.setdefault(r["label"], []).append(
                r.get("error", "?") + " " + r.get("stderr_tail", "")[-200:].replace("\n", " "))
    return ok, bad


def skipped_runs(path):
    """{label: reason} for the programs run.sh could not run (loop.jsonl's "skipped" records)."""
    out = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            if "skipped" in r:
                out[r["label"]] = r["skipped"]
    return out


def med(xs):
    return statistics.median(xs) if xs else None


def si(v, unit=""):
    """1234567 -> '1.23M'; None -> 'n/a'."""
    if v is None:
        return "n/a"
    for f, s in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= f:
            return f"{v / f:.3g}{s}{unit}"
    return f"{v:.3g}{unit}"


def secs(v):
    if v is None:
        return "n/a"
    return f"{v:.3f} s" if v >= 0.1 else f"{v * 1e3:.2f} ms"


def spread(xs, fmt):
    """'median (min–max)' of xs with fmt, or 'n/a'."""
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return fmt(xs[0])
    return f"{fmt(med(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def ratio(a, b):
    return a / b if a is not None and b else None


def fx(v):
    """A ratio with as many digits as mean something: 0.94x, 12.3x, 27,206x."""
    if v is None:
        return "n/a"
    return f"{v:,.0f}x" if v >= 100 else f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def pct(v):
    return "n/a" if v is None else f"{v:+.1f}%"


def shell(cmd, cwd=None):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=cwd).stdout.strip()
    except OSError:
        return ""


def commit_of(repo):
    """The checkout's short commit, noting uncommitted library changes (what was measured)."""
    commit = shell("git rev-parse --short HEAD", repo)
    dirty = shell("git status --porcelain --untracked-files=no -- include src", repo)
    return commit + (" (library sources modified in the working tree)" if dirty else "")


def machine(repo, commit):
    cpu = shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip() or platform.processor()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "compiler": shell("c++ --version | head -1"),
        "python": platform.python_version(),
        "commit": commit or commit_of(repo),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pool", help="Google Benchmark JSON of tandem_pool_bench")
    ap.add_argument("--primes", help="Google Benchmark JSON of tandem_primes_bench")
    ap.add_argument("--loop", help="run.sh's loop.jsonl (W3, W3b, W4, echo)")
    ap.add_argument("--proc", help="run.sh's proc.jsonl (W5, W5b, latency, W6 processes, start-up)")
    ap.add_argument("--http", help="run.sh's http.jsonl (W9 clients, wrk, the server)")
    ap.add_argument("--python", help="the Python peers' raw.jsonl (omit: no Python column)")
    ap.add_argument("--python-note", default="", help="why there is no Python column")
    ap.add_argument("--repo", default=".", help="the tandem checkout (for the commit)")
    ap.add_argument("--commit", help="the commit measured (run.sh records it before the runs)")
    a = ap.parse_args()
    if bool(a.pool) != bool(a.primes):
        ap.error("--pool and --primes go together")
    if not a.pool and not a.loop and not a.proc and not a.http:
        ap.error("nothing to show: give --pool/--primes, --loop, --proc, --http or several")

    py_ok, py_bad = python_runs(a.python) if a.python else ({}, {})
    have_py = a.python is not None
    m = machine(a.repo, a.commit)
    p = print
    parts = []
    if a.pool:
        parts.append("W1, W2, W6 beside oneTBB and Python")
    if a.loop:
        parts.append("W3, W3b, W4, echo beside Asio, Boost.Fiber, asyncio and uvloop")
    if a.proc:
        parts.append("W5, W5b, W6 on processes beside multiprocessing")
    if a.http:
        parts.append("W9 and the HTTP server beside aiohttp, tornado, urllib and wrk")
    when = datetime.datetime.now().astimezone()
    if a.pool:
        # The sitting's date: when the C++ runs started (Google Benchmark records it).
        try:
            when = datetime.datetime.fromisoformat(json.load(open(a.pool))["context"]["date"])
        except (KeyError, ValueError):
            pass
    p(f"# tandem benchmarks: {'; '.join(parts)} ({when:%Y-%m-%d %H:%M %Z})")
    p()
    p(f"- Machine: {m['cpu']}, cpu_count {m['cpu_count']}, Linux {m['kernel']}")
    p(f"- tandem {m['commit']}, {m['compiler']}; Python {m['python']} (/usr/bin/python3)")
    if not have_py:
        p(f"- **No Python columns**: {a.python_note or 'not run'}.")
    if have_py and not py_ok:
        p(f"- **The Python peers produced no result** (see {os.path.dirname(a.python)}): "
          f"the Python columns are empty.")
    if a.pool:
        p()
        pool_section(a, m, py_ok, py_bad, have_py, p)
    if a.loop:
        p()
        loop_section(a.loop, py_ok, py_bad, have_py, p)
    if a.proc:
        p()
        proc_section(a.proc, py_ok, py_bad, have_py, p)
    if a.http:
        p()
        http_section(a.http, p)


def pool_section(a, m, py_ok, py_bad, have_py, p):
    """W1, W2, W6: tandem beside oneTBB and Python."""
    pool_ctx, pool = gbench_runs(a.pool)
    primes_ctx, primes = gbench_runs(a.primes)
    limit = int(primes_ctx.get("w6_limit", "5000000"))
    expected = int(primes_ctx.get("w6_expected_primes", "0"))
    reps = max((len(r["secs"]) for r in list(pool.values()) + list(primes.values())), default=0)

    def rate(key, runs=pool):
        return runs.get(key, {}).get("rate", [])

    def wall(key):
        return primes.get(key, {}).get("secs", [])

    def py(label, field):
        return [r[field] for r in py_ok.get(label, []) if isinstance(r.get(field), (int, float))]

    p("## Thread pools: W1, W2, W6 beside oneTBB and Python")
    p()
    p(f"- Load average at the start of the C++ runs: "
      f"{', '.join(f'{x:.2f}' for x in pool_ctx.get('load_avg', []))} (W1/W2), "
      f"{', '.join(f'{x:.2f}' for x in primes_ctx.get('load_avg', []))} (W6)")
    p(f"- oneTBB {pool_ctx.get('tbb_version', '?')} (task_arena of 2: the caller + 1 worker)")
    p(f"- Every figure: median of {reps} C++ repetitions (Google Benchmark, wall clock, random "
      f"interleaving) and of the Python runs, min–max in brackets, all in this one sitting.")
    busy = [ctx["load_avg"][0] for ctx in (pool_ctx, primes_ctx) if ctx.get("load_avg")]
    if busy and max(busy) > 1.0:
        p(f"- Other processes were running (1-minute load average up to {max(busy):.2f} on "
          f"{m['cpu_count']} cores when the C++ runs started): expect noise, trust only ratios.")
    # Benchmarks whose typical repetition shared the CPU with other processes: say so rather
    # than let those figures pass for the library's.
    shared = [f"{k} {med(r['others']):.2f}" for runs in (pool, primes) for k, r in sorted(runs.items())
              if r["others"] and med(r["others"]) >= BUSY_OTHERS]
    if shared:
        p(f"- **Warning: other processes used the CPU during these benchmarks** (cores, median "
          f"repetition): {', '.join(shared)}. Those figures describe the other load as much as "
          f"the library; see the quiet-run figures below.")
    p()

    # ------------------------------------------------------------------ the side-by-side table
    t1, b1, y1 = rate("W1/tandem_submit"), rate("W1/tbb_task_group"), py("W1", "rate")
    t2, b2, y2 = rate("W2/tandem_map"), rate("W2/tbb_parallel_for"), py("W2", "rate")
    seq, tm, ts, tb = wall("W6/sequential"), wall("W6/tandem_map"), wall("W6/tandem_submit"), wall("W6/tbb_parallel_for")
    sp_t = ratio(med(seq), med(tm))
    sp_ts = ratio(med(seq), med(ts))
    sp_b = ratio(med(seq), med(tb))

    def quiet(key):
        return primes.get(key, {}).get("quiet_secs", [])

    # From the quiet repetitions only (no other process on the CPU): what each system does when
    # the machine leaves it alone.
    qseq = med(quiet("W6/sequential"))
    q_t, q_ts, q_b = (ratio(qseq, med(quiet(k))) for k in
                      ("W6/tandem_map", "W6/tandem_submit", "W6/tbb_parallel_for"))
    py_thr, py_mp = med(py("W6", "speedup_threads2")), med(py("W6", "speedup_mp_pool2"))
    py_best_name, py_best = max((("mp.Pool(2)", py_mp), ("ThreadPoolExecutor(2)", py_thr)),
                                key=lambda kv: -1 if kv[1] is None else kv[1])
    diff_b = None if sp_t is None or not sp_b else (sp_t / sp_b - 1) * 100
    diff_y = None if sp_t is None or not py_best else (sp_t / py_best - 1) * 100

    head = "| workload | unit | tandem | oneTBB | tandem/oneTBB |"
    sep = "|---|---|---|---|---|"
    if have_py:
        head += " Python | tandem/Python |"
        sep += "---|---|"
    p(head)
    p(sep)

    def row(*cells):
        cells = list(cells)
        if not have_py:
            cells = cells[:5]
        p("| " + " | ".join(cells) + " |")

    row("W1 submit 200,000 tasks, keep futures, sum (2 workers)", "tasks/s",
        spread(t1, si), spread(b1, si) + " task_group", fx(ratio(med(t1), med(b1))),
        spread(y1, si) + " ThreadPoolExecutor", fx(ratio(med(t1), med(y1))))
    row("W2 map x*2 over 1,000,000 ints, sum (2 workers)", "items/s",
        spread(t2, si), spread(b2, si) + " parallel_for", fx(ratio(med(t2), med(b2))),
        spread(y2, si) + " ThreadPoolExecutor.map", fx(ratio(med(t2), med(y2))))
    row(f"W6 primes below {limit:,}: sequential", "wall",
        spread(seq, secs) + " (C++, shared)", "same C++ loop", "",
        spread(py("W6", "seq_s"), secs), "")
    row("W6 2 workers (incl. pool start)", "wall",
        spread(tm, secs) + " map", spread(tb, secs) + " parallel_for", "",
        f"{spread(py('W6', 'mp_pool2_s'), secs)} mp.Pool; {spread(py('W6', 'threads2_s'), secs)} threads", "")
    row("W6 2-worker speedup (ideal 2.0)", "seq/par",
        fx(sp_t), fx(sp_b), pct(diff_b),
        f"{fx(py_best)} {py_best_name} (the better of mp.Pool {fx(py_mp)}, threads {fx(py_thr)})",
        pct(diff_y))
    p()
    p("Ratios: W1, W2 = tandem rate / peer rate (above 1.00x: tandem faster). "
      "W6 = medians' speedups side by side; the % is tandem speedup / peer speedup - 1.")
    if have_py:
        for label in ("W1", "W2", "W6"):
            if py_bad.get(label):
                p(f"\nPython {label}: {len(py_bad[label])} failed run(s): {' / '.join(py_bad[label])[:400]}")
        if py_mp is not None and py_mp < 1.5:
            p(f"\nPython W6: multiprocessing.Pool(2) got {fx(py_mp)} where 2 free cores give about "
              f"1.9x: its runs most likely shared the CPU with other processes, so the Python W6 "
              f"comparison says little in this sitting.")
        py_primes = {r.get("primes") for r in py_ok.get("W6", [])}
        py_limits = {r.get("limit") for r in py_ok.get("W6", [])}
        if py_ok.get("W6") and (py_limits != {limit} or py_primes != {expected}):
            p(f"\n**W6 mismatch**: Python limit {py_limits} primes {py_primes}, C++ limit {limit} primes {expected}.")

    # ------------------------------------------------------------------ targets
    p()
    p("### Targets")
    p()

    def verdict(name, value, ok, show):
        state = "not measured" if value is None else ("**met**" if ok(value) else "**not met**")
        p(f"- {name}: {state} ({show(value)})")

    verdict(f"W1 tasks/s >= {W1_VS_TBB}x oneTBB task_group", ratio(med(t1), med(b1)),
            lambda v: v >= W1_VS_TBB, lambda v: f"{fx(v)}: {si(med(t1))} vs {si(med(b1))} tasks/s")
    verdict(f"W1 tasks/s >= {W1_VS_PY:.0f}x ThreadPoolExecutor", ratio(med(t1), med(y1)),
            lambda v: v >= W1_VS_PY, lambda v: f"{fx(v)}: {si(med(t1))} vs {si(med(y1))} tasks/s")
    verdict("W2 items/s >= oneTBB parallel_for (results consumed)", ratio(med(t2), med(b2)),
            lambda v: v >= W2_VS_TBB, lambda v: f"{fx(v)}: {si(med(t2))} vs {si(med(b2))} items/s")
    verdict(f"W6 2-worker speedup within {W6_TOLERANCE_PCT:.0f}% of oneTBB's (better counts as met)",
            diff_b, lambda v: v >= -W6_TOLERANCE_PCT,
            lambda v: f"tandem {fx(sp_t)} vs oneTBB {fx(sp_b)}: {pct(v)}")

    # ------------------------------------------------------------------ every run, for the record
    p()
    p("### Every C++ benchmark (median (min–max) of the repetitions)")
    p()
    p("| benchmark | wall per iteration | rate | cores busy | other processes (cores) | quiet runs | note |")
    p("|---|---|---|---|---|---|---|")
    notes = {
        "W2/sequential_loop": "reference: one thread, no pool",
        "W6/tandem_submit": f"one submit() per range; speedup {fx(sp_ts)}, quiet runs {fx(q_ts)}",
        "W6/tandem_map": f"map, chunksize 1; speedup {fx(sp_t)}, quiet runs {fx(q_t)}",
        "W6/tbb_parallel_for": f"simple_partitioner, grainsize 1; speedup {fx(sp_b)}, quiet runs {fx(q_b)}",
    }
    for runs in (pool, primes):
        for key, r in sorted(runs.items()):  # random interleaving scrambles the JSON order
            note = ("FAILED: " + r["error"]) if r["error"] else notes.get(key, "")
            p(f"| {key} | {spread(r['secs'], secs)} | {spread(r['rate'], lambda v: si(v, '/s'))} "
              f"| {spread(r['cores'], lambda v: f'{v:.2f}')} | {spread(r['others'], lambda v: f'{v:.2f}')} "
              f"| {len(r['quiet_secs'])}/{len(r['secs'])} | {note} |")
    p()
    p("Cores busy = this process's CPU time / wall time: about 1.0 for a sequential run, up to 2.0 "
      "for a 2-thread run on 2 cores (spinning idle workers count as busy). Other processes = the "
      "machine's busy CPU time minus ours, per wall second, from /proc/stat (10 ms ticks). A quiet "
      f"run is one where other processes used under {QUIET_OTHERS} core; 'quiet runs' speedups use "
      "only those. A slow run with other processes near 0 would be the library's own doing; a slow "
      "run with other processes near 1 core is the machine.")
    if pool_ctx.get("library_build_type") == "debug":
        p()
        p("Debian's libbenchmark is built without NDEBUG (its 'Library was built as DEBUG' warning); "
          "that affects the harness's own bookkeeping between timed loops, not the measured code.")


# Event-loop labels (run.sh's loop.jsonl and run_all.sh's raw.jsonl), one per system and row.
LOOP_SYSTEMS = ("aio", "asio", "fiber", "asyncio", "uvloop")
LOOP_HEADS = ("tandem aio", "Asio", "Boost.Fiber", "asyncio", "uvloop")


def loop_section(path, py_ok, py_bad, have_py, p):
    """W3, W3b, W4 and the echo: tandem::aio beside Asio, Boost.Fiber and Python's loops."""
    ok, bad = python_runs(path)
    skipped = skipped_runs(path)
    runs = dict(py_ok)
    runs.update(ok)  # the labels do not overlap: run_all.sh's are asyncio/uvloop, except echo's
    failed = dict(py_bad)
    failed.update(bad)

    def vals(label, field):
        return [r[field] for r in runs.get(label, []) if isinstance(r.get(field), (int, float))]

    def first(label, field, default="?"):
        for r in runs.get(label, []):
            if field in r:
                return r[field]
        return default

    def echo_shape():
        for label in ("echo/aio", "echo/asio", "echo/asyncio", "echo/uvloop"):
            for r in runs.get(label, []):
                if all(k in r for k in ("connections", "messages", "bytes")):
                    return (f"{r['connections']:,} connections x {r['messages']:,} round trips of "
                            f"{r['bytes']:,} bytes")
        return "no run"

    # (row title, unit, field, {system: label}, better) where better is "high" (throughputs) or
    # "low" (seconds, bytes): the direction of "aio is better".
    rows = [
        ("W3 100,000 tasks each sleep 1.0 s, gathered (ideal 1.0 s)", "wall", "wall_s",
         {"aio": "W3/aio", "asio": "W3/asio", "asyncio": "W3/asyncio", "uvloop": "W3/uvloop"}, "low"),
        ("W3 RSS per sleeping task ((peak - baseline) / 100,000)", "bytes",
         "inproc_rss_per_task_bytes",
         {"aio": "W3/aio", "asio": "W3/asio", "asyncio": "W3/asyncio", "uvloop": "W3/uvloop"}, "low"),
        ("W3b 1,000,000 tasks that return at once, gathered", "tasks/s", "rate",
         {"aio": "W3b/aio/ret", "asio": "W3b/asio/ret", "asyncio": "W3b/asyncio/ret",
          "uvloop": "W3b/uvloop/ret"}, "high"),
        ("W3b the same, each yielding once (sleep(0); Asio: post)", "tasks/s", "rate",
         {"aio": "W3b/aio/sleep0", "asio": "W3b/asio/yield", "asyncio": "W3b/asyncio/sleep0",
          "uvloop": "W3b/uvloop/sleep0"}, "high"),
        ("W4 queue of 1024, 4 producers x 250,000 ints, 4 consumers", "items/s", "rate",
         {"aio": "W4/aio", "asio": "W4/asio", "fiber": "W4/fiber", "asyncio": "W4/asyncio",
          "uvloop": "W4/uvloop"}, "high"),
        (f"echo over loopback TCP: {echo_shape()}, one loop for both ends",
         "messages/s", "rate",
         {"aio": "echo/aio", "asio": "echo/asio", "asyncio": "echo/asyncio", "uvloop": "echo/uvloop"},
         "high"),
    ]

    def fmt_of(unit):
        if unit == "wall":
            return secs
        if unit == "bytes":
            return lambda v: f"{v:,.0f} B"
        return si

    def better(field_better, aio_v, peer_v):
        """How many times better aio is than the peer (above 1: aio better)."""
        if field_better == "high":
            return ratio(aio_v, peer_v)
        return ratio(peer_v, aio_v)

    def system_of(label):
        return label.split("/")[1] if "/" in label else ""

    cpp_runs = max((len(v) for k, v in ok.items() if system_of(k) in ("aio", "asio", "fiber")),
                   default=0)
    py_reps = max((len(v) for k, v in runs.items() if system_of(k) in ("asyncio", "uvloop")),
                  default=0)
    p("## Event loop: W3, W3b, W4, echo beside Asio, Boost.Fiber, asyncio and uvloop")
    p()
    def version(v, div):
        """ASIO_VERSION 102201 -> 1.22.1 (div 100); BOOST_VERSION 107400 -> 1.74.0 (div 100)."""
        if not isinstance(v, int):
            return "?"
        return f"{v // (div * 1000)}.{v // div % 1000}.{v % div}"

    asio_v = first("W3/asio", "asio_version", first("W4/asio", "asio_version", None))
    boost_v = first("W4/fiber", "boost_version", None)
    p("- One loop on one thread, one run per process (W3's memory is each process's peak RSS "
      f"minus its own baseline). Asio {version(asio_v, 100)} (C++20 coroutines, one io_context, "
      f"concurrency hint 1); Boost.Fiber {version(boost_v, 100)} (fibers on one thread); asyncio "
      f"and uvloop on /usr/bin/python3.")
    counts = f"C++: {cpp_runs} each" + (f"; Python: {py_reps} each" if py_reps else "")
    p(f"- Every figure: median of the runs ({counts}), min–max in brackets, all in this one sitting.")
    # /proc/stat counts 10 ms ticks: on a run of a few tens of milliseconds (W4 in C++) the
    # other-processes figure is noise, so only runs of 0.1 s or more are judged.
    def others(label):
        return [r["others_cpu"] for r in runs.get(label, [])
                if isinstance(r.get("others_cpu"), (int, float)) and r.get("wall_s", 0) >= 0.1]

    shared = sorted(f"{label} {med(others(label)):.2f}" for label in ok
                    if others(label) and med(others(label)) >= BUSY_OTHERS)
    if shared:
        p(f"- **Warning: other processes used the CPU during these runs** (cores, median run of "
          f"0.1 s or more): {', '.join(shared)}. Those figures describe the other load as much as "
          f"the library.")
    p()
    p("| workload | unit | " + " | ".join(LOOP_HEADS) + " | aio vs Asio | aio vs asyncio |")
    p("|---|---|" + "---|" * len(LOOP_HEADS) + "---|---|")
    medians = {}
    for title, unit, field, labels, direction in rows:
        f = fmt_of(unit)
        cells = []
        for sysname in LOOP_SYSTEMS:
            label = labels.get(sysname)
            xs = vals(label, field) if label else []
            medians[(title, sysname)] = med(xs)
            if label is None:
                cells.append("")
            elif xs:
                method = first(label, "method", "")
                note = f" {method.split('/')[-1]}" if sysname == "aio" and "/" in method else ""
                cells.append(spread(xs, f) + note)
            elif label in skipped:
                cells.append("not built")
            elif label in failed:
                cells.append("FAILED")
            else:
                cells.append("n/a")
        aio_v = medians[(title, "aio")]
        cells.append(fx(better(direction, aio_v, medians[(title, "asio")])))
        cells.append(fx(better(direction, aio_v, medians[(title, "asyncio")])))
        p(f"| {title} | {unit} | " + " | ".join(cells) + " |")
    p()
    p("aio vs X: how many times better tandem::aio is (throughput: aio / X; wall seconds and bytes: "
      "X / aio); above 1.00x, aio is better. The word after an aio figure names how its tasks were "
      "started and collected (gather, or create_task and an await per handle). Asio has no "
      "gather over a vector: each co_spawn's completion handler adds to the sum.")
    if skipped:
        p()
        p("Not measured in this sitting:")
        for label, why in sorted(skipped.items()):
            p(f"- {label}: {why}")
    loop_failed = {k: v for k, v in failed.items()
                   if k.split("/")[0] in ("W3", "W3b", "W4", "echo", "W3-baseline")}
    for label, errs in sorted(loop_failed.items()):
        p(f"\n{label}: {len(errs)} failed run(s): {' / '.join(errs)[:400]}")

    # ------------------------------------------------------------------ targets
    w3, w3m, w3b, w4 = rows[0][0], rows[1][0], rows[2][0], rows[4][0]
    p()
    p("### Targets (issue 3)")
    p()

    def verdict(name, value, okf, show):
        state = "not measured" if value is None else ("**met**" if okf(value) else "**not met**")
        p(f"- {name}: {state} ({show(value)})")

    verdict(f"W3 wall <= {W3_WALL_MAX} s", medians[(w3, "aio")], lambda v: v <= W3_WALL_MAX,
            lambda v: f"aio {secs(v)}, Asio {secs(medians[(w3, 'asio')])}")
    def nbytes(v):
        return "n/a" if v is None else f"{v:,.0f}"

    verdict(f"W3 RSS per sleeping task <= {W3_BYTES_MAX} bytes", medians[(w3m, "aio")],
            lambda v: v <= W3_BYTES_MAX,
            lambda v: f"aio {nbytes(v)} B, Asio {nbytes(medians[(w3m, 'asio')])} B")
    w3b_x = ratio(medians[(w3b, "aio")], medians[(w3b, "asio")])
    verdict(f"W3b tasks/s >= {W3B_VS_ASIO:.0f}x Asio", w3b_x, lambda v: v >= W3B_VS_ASIO,
            lambda v: f"{fx(v)}: {si(medians[(w3b, 'aio')])} vs {si(medians[(w3b, 'asio')])} tasks/s")
    w4_x = ratio(medians[(w4, "aio")], medians[(w4, "fiber")])
    verdict("W4 items/s >= Boost.Fiber's buffered_channel", w4_x, lambda v: v >= W4_VS_FIBER,
            lambda v: f"{fx(v)}: {si(medians[(w4, 'aio')])} vs {si(medians[(w4, 'fiber')])} items/s")

    # ------------------------------------------------------------------ every run
    p()
    p("### Every event-loop run (median (min–max))")
    p()
    p("| label | method | runs ok | wall | rate | RSS per task | cores busy | other processes (cores) "
      "| quiet runs: median |")
    p("|---|---|---|---|---|---|---|---|---|")

    def quiet(label):
        """'k/n: median' of the rate (else the wall) over the runs other processes left alone."""
        rs = [r for r in runs.get(label, []) if isinstance(r.get("others_cpu"), (int, float))]
        if not rs:
            return ""
        long_enough = [r for r in rs if r.get("wall_s", 0) >= 0.1]
        if not long_enough:
            return "runs too short to judge"
        q = [r for r in long_enough if r["others_cpu"] < QUIET_OTHERS]
        if not q:
            return f"0/{len(rs)}"
        if all(isinstance(r.get("rate"), (int, float)) for r in q):
            return f"{len(q)}/{len(rs)}: {si(med([r['rate'] for r in q]), '/s')}"
        return f"{len(q)}/{len(rs)}: {secs(med([r['wall_s'] for r in q]))}"

    for label in sorted(runs):
        if label.split("/")[0] not in ("W3", "W3b", "W4", "echo"):
            continue
        total = len(runs[label]) + len(failed.get(label, []))
        rss = vals(label, "inproc_rss_per_task_bytes")
        p(f"| {label} | {first(label, 'method', '')} | {len(runs[label])}/{total} "
          f"| {spread(vals(label, 'wall_s'), secs)} | {spread(vals(label, 'rate'), lambda v: si(v, '/s'))} "
          f"| {spread(rss, lambda v: f'{v:,.0f} B') if rss else ''} "
          f"| {spread(vals(label, 'cores'), lambda v: f'{v:.2f}')} "
          f"| {spread(vals(label, 'others_cpu'), lambda v: f'{v:.2f}')} | {quiet(label)} |")
    p()
    p("Cores busy and other processes: as above, for the C++ programs (loop_peer.hpp measures them "
      "from /proc/stat); the Python peers do not record them. W3 sleeps 1.0 s, so its cores busy is "
      f"small by design. Quiet runs: those where other processes used under {QUIET_OTHERS} core "
      "(runs under 0.1 s are not judged: 10 ms ticks), with the median of their rate, else of their "
      "wall time: what each system does when the machine leaves it alone.")


def proc_section(path, py_ok, py_bad, have_py, p):
    """W5, W5b, latency, W6 on processes, start-up: tandem::process_pool beside multiprocessing."""
    ok, bad = python_runs(path)
    skipped = skipped_runs(path)
    runs = dict(py_ok)
    runs.update(ok)  # labels differ: run_all.sh's W5/<method> and W6, run.sh's */tandem*, */mp_*
    failed = dict(py_bad)
    failed.update(bad)

    def vals(label, field):
        return [r[field] for r in runs.get(label, []) if isinstance(r.get(field), (int, float))]

    def first(label, field, default=None):
        for r in runs.get(label, []):
            if field in r:
                return r[field]
        return default

    def cell(label, field, fmt, note=""):
        if label is None:
            return ""
        xs = vals(label, field)
        if xs:
            return spread(xs, fmt) + (f" {note}" if note else "")
        if label in skipped:
            return "not built"
        if label in failed:
            return "FAILED"
        return "n/a"

    def micros(v):
        return "n/a" if v is None else f"{v:,.1f} µs"

    cs_t = first("W5/tandem", "chunksize")
    cs_p = first("W5/pool_map", "chunksize_effective")
    cs_e = first("W5/ppe_map", "chunksize")
    cs = lambda v: f"(chunks of {v:,})" if isinstance(v, int) else ""
    tandem_sm = first("W5/tandem", "start_method", "?")
    py_sm = first("W5/pool_map", "start_method", "?")
    # (title, unit, field, {tandem, pool, ppe}: label, better, fmt, notes)
    rows = [
        ("W5 map x*2 over 1,000,000 ints, default chunking", "items/s", "rate",
         ("W5/tandem", "W5/pool_map", "W5/ppe_map"), "high", si,
         (cs(cs_t), f"map {cs(cs_p)}", f"map {cs(cs_e)}")),
        ("W5b 20,000 x submit(x*2), then every result", "tasks/s", "rate",
         ("W5b/tandem/submit", None, "W5/ppe_submit"), "high", si, ("", "", "submit")),
        ("W5b imap_unordered(x*2, 20,000 items, chunksize 1)", "tasks/s", "rate",
         ("W5b/tandem/imap", "W5/pool_imap_unordered_cs1", "W5/ppe_map_cs1"), "high", si,
         ("", "imap_unordered", "map(chunksize=1)")),
        ("round trip submit(x*2).get(), 2,000 in a row: median", "µs", "median_us",
         ("latency/tandem", "latency/mp_pool_apply", "latency/ppe_submit"), "low", micros,
         ("", "apply", "submit().result()")),
        ("round trip: p90", "µs", "p90_us",
         ("latency/tandem", "latency/mp_pool_apply", "latency/ppe_submit"), "low", micros,
         ("", "", "")),
        ("round trip: p99", "µs", "p99_us",
         ("latency/tandem", "latency/mp_pool_apply", "latency/ppe_submit"), "low", micros,
         ("", "", "")),
        ("pool start + warm-up (a 4-item map), in the W5 runs", "wall", "startup_s",
         ("W5/tandem", "W5/pool_map", "W5/ppe_map"), "low", secs,
         (tandem_sm, py_sm, py_sm)),
    ]
    for m in ("fork", "forkserver", "spawn"):
        rows.append((f"start-up: new 2-process pool + its first result, {m} (median of 10)",
                     "wall", "median_s", (f"startup/tandem/{m}", f"startup/mp_pool/{m}", None),
                     "low", secs, ("", "", "")))
    for m in ("fork", "forkserver", "spawn"):
        rows.append((f"shutdown of that pool, waiting for its workers, {m} (median of 10)",
                     "wall", "shutdown_median_s",
                     (f"startup/tandem/{m}", f"startup/mp_pool/{m}", None), "low", secs,
                     ("shutdown()", "close() + join()", "")))

    def better(direction, t, peer):
        return ratio(t, peer) if direction == "high" else ratio(peer, t)

    cpp_runs = max((len(v) for k, v in ok.items() if "/tandem" in k), default=0)
    py_reps = max((len(runs.get(k, [])) for k in ("W5/pool_map", "W6")), default=0)
    p("## Process pools: W5, W5b, W6")
    p()
    py_part = (f"; Python {py_sm} start method (multiprocessing.Pool, ProcessPoolExecutor) on "
               f"/usr/bin/python3" if py_sm != "?" else "")
    p(f"- 2 worker processes everywhere. tandem::process_pool (tandem_process_bench, one workload "
      f"per process, default start method {tandem_sm}){py_part}.")
    p("- W5, W5b, latency: the pool is created and warmed (a 4-item map) before timing, as "
      "shared/peers/python/w5_proc_map.py does; its start-up is the row below them. W6: each "
      "parallel wall time includes starting and stopping its pool, as w6_primes.py's do.")
    counts = f"C++: {cpp_runs} each" + (f"; Python: {py_reps} each" if py_reps else "")
    p(f"- Every figure: median of the runs ({counts}), min–max in brackets, all in this one sitting.")

    def others_of(r):
        """The most other processes took during one run's timed parts (cores)."""
        xs = [r[k] for k in ("others_cpu", "seq_others_cpu", "proc_others_cpu",
                             "threads_others_cpu") if isinstance(r.get(k), (int, float))]
        return max(xs) if xs else None

    def judged(label):
        # /proc/stat counts 10 ms ticks: runs under 0.1 s are not judged.
        return [others_of(r) for r in runs.get(label, [])
                if others_of(r) is not None and r.get("wall_s", 0) >= 0.1]

    shared = sorted(f"{label} {med(judged(label)):.2f}" for label in ok
                    if judged(label) and med(judged(label)) >= BUSY_OTHERS)
    if shared:
        p(f"- **Warning: other processes used the CPU during these runs** (cores, median run of "
          f"0.1 s or more): {', '.join(shared)}. Those figures describe the other load as much as "
          f"the library.")
    p()
    p("| workload | unit | tandem | multiprocessing.Pool | ProcessPoolExecutor | tandem vs Pool "
      "| tandem vs PPE |")
    p("|---|---|---|---|---|---|---|")
    medians = {}
    for title, unit, field, labels, direction, fmt, notes in rows:
        cells = []
        for label, note in zip(labels, notes):
            medians[(title, label)] = med(vals(label, field)) if label else None
            cells.append(cell(label, field, fmt, note))
        t = medians[(title, labels[0])]
        cells.append(fx(better(direction, t, medians[(title, labels[1])])) if labels[1] else "")
        cells.append(fx(better(direction, t, medians[(title, labels[2])])) if labels[2] else "")
        p(f"| {title} | {unit} | " + " | ".join(cells) + " |")
    p()
    p("tandem vs X: how many times better tandem is (throughput: tandem / X; microseconds and "
      "seconds: X / tandem); above 1.00x, tandem is better. The latency and start-up peers are "
      "bench/run.sh's own (written to the raw folder as proc_peer.py): the shared Python peers "
      "have none.")

    # ------------------------------------------------------------------ W6 on processes
    w6 = runs.get("W6proc/tandem", [])
    limit = first("W6proc/tandem", "limit", first("W6", "limit", "?"))
    lim = f"{limit:,}" if isinstance(limit, int) else str(limit)
    seq, proc, thr = (vals("W6proc/tandem", k) for k in ("seq_s", "proc_s", "threads_s"))
    pseq, pmp, pthr = (vals("W6", k) for k in ("seq_s", "mp_pool2_s", "threads2_s"))
    sp_p, sp_t = ratio(med(seq), med(proc)), ratio(med(seq), med(thr))
    py_sp_p, py_sp_t = ratio(med(pseq), med(pmp)), ratio(med(pseq), med(pthr))
    diff = None if sp_p is None or not sp_t else (sp_p / sp_t - 1) * 100
    py_diff = None if py_sp_p is None or not py_sp_t else (py_sp_p / py_sp_t - 1) * 100
    paired = med(vals("W6proc/tandem", "proc_vs_threads_pct"))
    quiet = [r for r in w6 if others_of(r) is not None and others_of(r) < QUIET_OTHERS]
    q_diff = None
    if quiet:
        q_seq = med([r["seq_s"] for r in quiet])
        q_p = ratio(q_seq, med([r["proc_s"] for r in quiet]))
        q_t = ratio(q_seq, med([r["threads_s"] for r in quiet]))
        q_diff = None if q_p is None or not q_t else (q_p / q_t - 1) * 100
    p()
    p(f"| W6 primes below {lim}, 64 ranges, chunksize 1 | unit | tandem (C++) | Python |")
    p("|---|---|---|---|")
    p(f"| sequential | wall | {cell('W6proc/tandem', 'seq_s', secs)} | {cell('W6', 'seq_s', secs)} |")
    p(f"| 2 processes (pool start included) | wall | {cell('W6proc/tandem', 'proc_s', secs)} "
      f"process_pool.map | {cell('W6', 'mp_pool2_s', secs)} mp.Pool(2).map |")
    p(f"| of which starting the pool | wall | {cell('W6proc/tandem', 'proc_startup_s', secs)} | |")
    p(f"| of which the map | wall | {cell('W6proc/tandem', 'proc_map_s', secs)} | |")
    p(f"| of which shutdown() (workers exit, reaped) | wall "
      f"| {cell('W6proc/tandem', 'proc_shutdown_s', secs)} | |")
    p(f"| 2 threads (pool start included) | wall | {cell('W6proc/tandem', 'threads_s', secs)} "
      f"thread_pool.map | {cell('W6', 'threads2_s', secs)} ThreadPoolExecutor(2) |")
    p(f"| of which start + map (the rest: joining the threads) | wall "
      f"| {cell('W6proc/tandem', 'threads_map_s', secs)} | |")
    p(f"| speedup with 2 processes (ideal 2.0) | seq/par | {fx(sp_p)} | {fx(py_sp_p)} |")
    p(f"| speedup with 2 threads | seq/par | {fx(sp_t)} | {fx(py_sp_t)} (the GIL) |")
    p(f"| process speedup / thread speedup - 1 | % | {pct(diff)} (paired per run: {pct(paired)}; "
      f"quiet runs {len(quiet)}/{len(w6)}: {pct(q_diff)}) | {pct(py_diff)} |")
    p()
    p("Speedups from the medians of the wall times. 'Paired per run': the median over runs of "
      "(threads wall / processes wall - 1), each run measuring both seconds apart. Quiet runs: "
      f"those where other processes used under {QUIET_OTHERS} core in every timed part.")
    c_primes = {r.get("primes") for r in w6}
    p_primes = {r.get("primes") for r in runs.get("W6", [])}
    if w6 and runs.get("W6") and (c_primes != p_primes):
        p(f"\n**W6 mismatch**: C++ primes {c_primes}, Python {p_primes}.")
    if skipped:
        p()
        p("Not measured in this sitting:")
        for label, why in sorted(skipped.items()):
            p(f"- {label}: {why}")
    proc_failed = {k: v for k, v in failed.items()
                   if k.split("/")[0] in ("W5", "W5b", "W6proc", "latency", "startup")
                   or (k == "W6" and not have_py)}
    for label, errs in sorted(proc_failed.items()):
        p(f"\n{label}: {len(errs)} failed run(s): {' / '.join(errs)[:400]}")

    # ------------------------------------------------------------------ targets
    p()
    p("### Targets (issue 4)")
    p()

    def verdict(name, value, okf, show):
        state = "not measured" if value is None else ("**met**" if okf(value) else "**not met**")
        p(f"- {name}: {state} ({show(value)})")

    w5, w5s, w5i = rows[0][0], rows[1][0], rows[2][0]
    lat, lat99 = rows[3][0], rows[5][0]
    t5, p5 = medians[(w5, "W5/tandem")], medians[(w5, "W5/pool_map")]
    verdict(f"W5 items/s >= {W5_VS_POOL:.0f}x multiprocessing.Pool.map", ratio(t5, p5),
            lambda v: v >= W5_VS_POOL, lambda v: f"{fx(v)}: {si(t5)} vs {si(p5)} items/s")
    pi = medians[(w5i, "W5/pool_imap_unordered_cs1")]
    ti, ts = medians[(w5i, "W5b/tandem/imap")], medians[(w5s, "W5b/tandem/submit")]
    verdict(f"W5b tasks/s >= {W5B_VS_POOL:.0f}x Pool.imap_unordered(chunksize=1), "
            "with imap_unordered(chunksize 1)", ratio(ti, pi), lambda v: v >= W5B_VS_POOL,
            lambda v: f"{fx(v)}: {si(ti)} vs {si(pi)} tasks/s")
    verdict(f"W5b tasks/s >= {W5B_VS_POOL:.0f}x Pool.imap_unordered(chunksize=1), "
            "with submit + get", ratio(ts, pi), lambda v: v >= W5B_VS_POOL,
            lambda v: f"{fx(v)}: {si(ts)} vs {si(pi)} tasks/s")
    verdict(f"W6 2-process speedup within {W6_PROC_TOLERANCE_PCT:.0f}% of the thread pool's "
            "(better counts as met)", diff, lambda v: v >= -W6_PROC_TOLERANCE_PCT,
            lambda v: f"processes {fx(sp_p)} vs threads {fx(sp_t)}: {pct(v)}")
    p(f"- Round-trip latency (reported, no target): median "
      f"{micros(medians[(lat, 'latency/tandem')])}, p99 {micros(medians[(lat99, 'latency/tandem')])}; "
      f"Pool.apply {micros(medians[(lat, 'latency/mp_pool_apply')])} / "
      f"{micros(medians[(lat99, 'latency/mp_pool_apply')])}, "
      f"ProcessPoolExecutor {micros(medians[(lat, 'latency/ppe_submit')])} / "
      f"{micros(medians[(lat99, 'latency/ppe_submit')])}")

    # ------------------------------------------------------------------ every run
    p()
    p("### Every process-pool run (median (min–max))")
    p()
    p("| label | method | runs ok | wall | rate | peak RSS: parent / workers | cores busy "
      "| other processes (cores) | quiet runs |")
    p("|---|---|---|---|---|---|---|---|---|")

    def kb(v):
        return f"{v / 1024:.1f} MiB"

    def quiet_cell(label):
        rs = [r for r in runs.get(label, []) if others_of(r) is not None]
        if not rs:
            return ""
        long_enough = [r for r in rs if r.get("wall_s", 0) >= 0.1]
        if not long_enough:
            return "runs too short to judge"
        return f"{sum(1 for r in long_enough if others_of(r) < QUIET_OTHERS)}/{len(rs)}"

    for label in sorted(ok):
        total = len(ok[label]) + len(failed.get(label, []))
        rss = vals(label, "peak_rss_kb")
        wrss = [v for v in vals(label, "workers_peak_rss_kb") if v >= 0]
        wrss = wrss or [v for v in vals(label, "proc_workers_peak_rss_kb") if v >= 0]
        cores = vals(label, "cores") or vals(label, "proc_cores")
        others = [others_of(r) for r in ok[label] if others_of(r) is not None]
        p(f"| {label} | {first(label, 'method', '')} | {len(ok[label])}/{total} "
          f"| {spread(vals(label, 'wall_s'), secs)} "
          f"| {spread(vals(label, 'rate'), lambda v: si(v, '/s'))} "
          f"| {spread(rss, kb) if rss else ''}{' / ' + spread(wrss, kb) if wrss else ''} "
          f"| {spread(cores, lambda v: f'{v:.2f}')} "
          f"| {spread(others, lambda v: f'{v:.2f}')} | {quiet_cell(label)} |")
    p()
    p("Wall: the timed region (latency: all 2,000 round trips; start-up: the median of 10; W6: "
      "sequential + processes + threads). Peak RSS: VmHWM of the parent and the sum of the "
      "workers' (read before the pool shuts down; W6: its process pool's workers). Cores busy: "
      "the parent's and the workers' CPU time per wall second (W6: during the process-pool "
      "part). Other processes: the machine's busy CPU minus ours and the workers' (W6: the most "
      f"of its three parts); a quiet run is one under {QUIET_OTHERS} core; runs under 0.1 s are "
      "not judged (10 ms ticks). The Python peers record none of these.")


def http_section(path, p):
    """W9: clients against one nginx (tandem, aiohttp, tornado+pycurl, threads+urllib, wrk); the
    server: wrk against http::server and aiohttp.web. All from run.sh's http.jsonl."""
    ok, bad = python_runs(path)
    skipped = skipped_runs(path)

    def vals(label, field):
        return [r[field] for r in ok.get(label, []) if isinstance(r.get(field), (int, float))]

    def rate(label):
        return med(vals(label, "rate"))

    def cell(label, field, fmt):
        xs = vals(label, field)
        if xs:
            return spread(xs, fmt)
        if label in skipped:
            return f"not run: {skipped[label]}"
        return "FAILED" if label in bad else "n/a"

    def mb(kb):
        return f"{kb / 1024:.0f} MB"

    def verdict(v, target):
        if v is None:
            return "not measured"
        return "met" if v >= target else "NOT met"

    def reqs(v):
        return f"{v:,.0f}"

    aio = rate("W9/aiohttp")
    wrk = rate("W9/wrk")
    p("## W9: 10,000 GETs of a 1 KiB file from nginx (1 worker), 100 at a time")
    p()
    p("| client | requests/s | vs aiohttp | of wrk | peak RSS |")
    p("|---|---|---|---|---|")
    names = [("W9/tandem_session", "tandem `http::session` (libcurl multi on the aio loop)"),
             ("W9/aiohttp", "aiohttp (ClientSession, TCPConnector(limit=100))"),
             ("W9/tornado_curl", "tornado + pycurl (CurlAsyncHTTPClient)"),
             ("W9/threads_urllib", "ThreadPoolExecutor(100) + urllib"),
             ("W9/wrk", "wrk -t1 -c100 (the ceiling)")]
    for label, name in names:
        r = rate(label)
        # A run that did not happen has its reason in the requests/s cell only.
        rss = "" if label == "W9/wrk" or r is None else cell(label, "maxrss_kb", mb)
        p(f"| {name} | {cell(label, 'rate', reqs)} | {fx(ratio(r, aio))} | "
          f"{'n/a' if r is None or not wrk else f'{100 * r / wrk:.0f}%'} | {rss} |")
    ours = rate("W9/tandem_session")
    p()
    vs = ratio(ours, aio)
    of_wrk = ratio(ours, wrk)
    rss_ours = med(vals("W9/tandem_session", "maxrss_kb"))
    rss_aio = med(vals("W9/aiohttp", "maxrss_kb"))
    p(f"- requests/s vs aiohttp: {fx(vs)} (target >= {W9_VS_AIOHTTP:g}x: "
      f"{verdict(vs, W9_VS_AIOHTTP)})")
    p(f"- fraction of wrk: {'n/a' if of_wrk is None else f'{100 * of_wrk:.0f}%'} "
      f"(goal {100 * W9_OF_WRK:.0f}%)")
    if rss_ours and rss_aio:
        p(f"- client peak RSS: {mb(rss_ours)} vs aiohttp {mb(rss_aio)} (target <=: "
          f"{'met' if rss_ours <= rss_aio else 'NOT met'})")
    p()
    p("## The server: wrk -t1 -c100 -d5s, GET / answering 1 KiB")
    p()
    p("| server | requests/s | vs aiohttp.web |")
    p("|---|---|---|")
    web = rate("server/aiohttp_web")
    for label, name in [("server/tandem", "tandem `http::server`"),
                        ("server/aiohttp_web", "aiohttp.web (one process, asyncio)")]:
        p(f"| {name} | {cell(label, 'rate', reqs)} | {fx(ratio(rate(label), web))} |")
    sv = ratio(rate("server/tandem"), web)
    p()
    p(f"- requests/s vs aiohttp.web: {fx(sv)} (target >= {SERVER_VS_AIOHTTP:g}x: "
      f"{verdict(sv, SERVER_VS_AIOHTTP)})")
    p("- Every client run checks each response (status 200, 1,024 bytes); wrk shares the machine's")
    p("  two cores with the server it measures, as nginx shares them with the clients.")


if __name__ == "__main__":
    main()
