#!/usr/bin/env python3
"""gridmark's SQL on 1, 2 and 4 Apache DataFusion Ballista executors on one machine, beside the
embedded engine, on the shared AMI workload (the lake bench/ami_bench.py builds).

For each executor count N: starts `gridmark cluster scheduler` and N `gridmark cluster executor`
processes on loopback (release build, --tasks T each), runs Q1-Q4 of bench/ami_bench.py with
`gridmark --cluster … sql … --repeat 3 --timing`, checks each answer against the embedded
engine's (relative 1e-9), and stops the cluster. Prints a Markdown table and one JSON line.

With --workload lcl it runs real data instead: the Low Carbon London daily readings of
../shared/data/lcl_daily (1.8 M household-days; the lake is built on first use in
bench-out/lcl-lake) with four questions of its own, one of them a self-join that shuffles.

Usage: bench/scale_out.py [--workload ami|lcl] [--lake DIR] [--executors 1,2,4] [--tasks 2]
For ami, run bench/ami_bench.py first (it builds the lake and the release binary).
"""
import argparse, glob, json, os, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRIDMARK = os.path.join(ROOT, "target", "release", "gridmark")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from ami_bench import QUERIES  # noqa: E402  the same four questions

ORDER = {"Q1": "meter_id, day", "Q2": "month, region NULLS FIRST, tariff NULLS FIRST",
         "Q3": "meter_id", "Q4": "area_id, day"}

LCL_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "lcl_daily")
# Real households, one reading a day each (interval_s = 86400).
LCL_QUERIES = {
    "L1 monthly kWh per household": """SELECT meter_id, date_trunc('month', ts) AS month,
        sum(kwh) AS kwh, count(*) AS days FROM readings GROUP BY meter_id, month
        ORDER BY meter_id, month""",
    "L2 per-household statistics": """SELECT meter_id, avg(kwh) AS mean_kwh,
        stddev_samp(kwh) AS std_kwh, max(kwh) AS max_kwh, count(*) FILTER (WHERE kwh = 0) AS zero_days
        FROM readings GROUP BY meter_id ORDER BY meter_id""",
    "L3 daily total and households reporting": """SELECT date_trunc('day', ts) AS day,
        sum(kwh) AS kwh, count(DISTINCT meter_id) AS households FROM readings GROUP BY day ORDER BY day""",
    "L4 winter/summer ratio (self-join)": """SELECT w.meter_id, w.kwh / s.kwh AS ratio FROM
        (SELECT meter_id, avg(kwh) AS kwh FROM readings WHERE extract(month FROM ts) IN (12, 1, 2) GROUP BY meter_id) w
        JOIN (SELECT meter_id, avg(kwh) AS kwh FROM readings WHERE extract(month FROM ts) IN (6, 7, 8) GROUP BY meter_id) s
        ON w.meter_id = s.meter_id WHERE s.kwh > 0 ORDER BY w.meter_id""",
}


def lcl_lake(lake):
    """Imports ../shared/data/lcl_daily into `lake` unless it is already there."""
    if os.path.exists(os.path.join(lake, "gridmark.json")):
        return
    blocks = sorted(glob.glob(os.path.join(LCL_DIR, "block_*.csv.gz")))
    if not blocks:
        raise SystemExit(f"no LCL data in {LCL_DIR}: the real-data workload needs ../shared/data")
    subprocess.run([GRIDMARK, "--data", lake, "import", "readings", *blocks], check=True,
                   stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def run_sql(lake, sql, cluster=None):
    cmd = [GRIDMARK, "--data", lake]
    if cluster:
        cmd += ["--cluster", cluster]
    out = subprocess.run(cmd + ["sql", sql, "--repeat", "3", "--timing", "--format", "json"],
                         check=True, capture_output=True, text=True)
    timing = json.loads([l for l in out.stderr.splitlines() if l.startswith("{")][-1])
    rows = [json.loads(l) for l in out.stdout.splitlines()]
    return timing["median_s"], rows


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=["ami", "lcl"], default="ami")
    ap.add_argument("--lake", default=None)
    ap.add_argument("--executors", default="1,2,4")
    ap.add_argument("--tasks", type=int, default=2)
    a = ap.parse_args()
    if not os.path.exists(GRIDMARK):
        raise SystemExit("no release build: run bench/ami_bench.py (or cargo build --release -p gridmark)")
    if a.workload == "ami":
        a.lake = a.lake or os.path.join(ROOT, "bench-out", "lake")
        queries = {q: f"SELECT * FROM ({sql}) ORDER BY {ORDER[q]}" for q, sql in QUERIES.items()}
    else:
        a.lake = a.lake or os.path.join(ROOT, "bench-out", "lcl-lake")
        lcl_lake(a.lake)
        queries = LCL_QUERIES
    res = {"experiment": "scale_out", "workload": a.workload, "lake": a.lake, "tasks_per_executor": a.tasks,
           "cores": os.cpu_count(), "embedded": {}, "cluster": {}}
    truth = {}
    for q, sql in queries.items():
        res["embedded"][q], truth[q] = run_sql(a.lake, sql)
    for n in [int(x) for x in a.executors.split(",")]:
        procs = []
        with tempfile.TemporaryDirectory() as work:
            try:
                port = free_port()
                addr = f"127.0.0.1:{port}"
                procs.append(subprocess.Popen([GRIDMARK, "cluster", "scheduler", "--bind", addr],
                                              stderr=subprocess.DEVNULL))
                wait_port(port)
                for i in range(n):
                    flight, grpc = free_port(), free_port()
                    os.makedirs(os.path.join(work, f"e{i}"), exist_ok=True)
                    procs.append(subprocess.Popen(
                        [GRIDMARK, "cluster", "executor", "--scheduler", addr, "--port", str(flight),
                         "--grpc-port", str(grpc), "--tasks", str(a.tasks), "--work-dir",
                         os.path.join(work, f"e{i}")], stderr=subprocess.DEVNULL))
                    wait_port(flight)
                res["cluster"][n] = {}
                for q, sql in queries.items():
                    t, rows = run_sql(a.lake, sql, addr)
                    if len(rows) != len(truth[q]):
                        raise SystemExit(f"{q} on {n} executors: {len(rows)} rows, embedded {len(truth[q])}")
                    for x, y in zip(rows, truth[q]):
                        if not same(x, y):
                            raise SystemExit(f"{q} on {n} executors differs:\n{x}\n{y} (embedded)")
                    res["cluster"][n][q] = t
                    print(f"{n} executors {q}: {t:.3f} s", file=sys.stderr, flush=True)
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    ns = sorted(res["cluster"])
    print("| query | embedded | " + " | ".join(f"{n} executor{'s' if n > 1 else ''}" for n in ns) + " |")
    print("|---|---|" + "---|" * len(ns))
    for q in queries:
        cells = " | ".join(f"{res['cluster'][n][q]:.3f} s" for n in ns)
        print(f"| {q} | {res['embedded'][q]:.3f} s | {cells} |")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
