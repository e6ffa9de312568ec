#!/usr/bin/env python3
"""gridmark beside DuckDB and Polars on the shared AMI workload (../shared/bench).

Runs in one go, on one machine:
  1. makes a virtual environment (bench/.venv) with numpy, pyarrow, duckdb, polars if missing;
  2. generates the workload with ../shared/bench/gen_ami.py (default 2000 meters x 90 days);
  3. runs ../shared/bench/ami_queries.py (DuckDB and Polars, median of 3);
  4. times gridmark (release build) on the same data: Q0 = `gridmark import readings readings.csv`
     into a fresh lake (median of 3, whole process), Q1-Q4 = the same queries in SQL over the
     lake, in-process, median of 3 (`gridmark sql --repeat 3 --timing`);
  5. checks gridmark's answers against DuckDB's and prints a Markdown table and one JSON line.

Usage: bench/ami_bench.py [--meters N] [--days D] [--out DIR] [--skip-peers]
"""
import argparse, json, os, shutil, subprocess, sys, time, statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
VENV = os.path.join(ROOT, "bench", ".venv")
PY = os.path.join(VENV, "bin", "python")
GRIDMARK = os.path.join(ROOT, "target", "release", "gridmark")
TZ = "Asia/Shanghai"

# gridmark answers with its named views (crates/gridmark-sql/src/views.rs), which compute local
# days and months in the lake's zone (Asia/Shanghai) exactly as the reference SQL does.
QUERIES = {
    "Q1": "SELECT meter_id, day, sum(kwh) AS kwh FROM readings_local GROUP BY meter_id, day",
    "Q2": """SELECT to_char(m, '%Y-%m') AS month, region, tariff, kwh FROM (
  SELECT date_trunc('month', r.local_ts) AS m, d.region, d.tariff, sum(r.kwh) AS kwh
  FROM readings_local r JOIN meter_dims d ON r.meter_id = d.meter_id
  GROUP BY m, ROLLUP (d.region, d.tariff))""",
    "Q3": """SELECT meter_id, avg(kwh) AS mean_kwh, stddev_samp(kwh) AS std_kwh, max(kwh) AS max_kwh,
       avg(kwh) / max(kwh) AS load_factor, count(*) FILTER (WHERE kwh = 0) AS zero_readings
FROM readings GROUP BY meter_id""",
    "Q4": "SELECT area_id, day, supply_kwh, billed_kwh, loss_kwh, loss_ratio FROM area_daily_loss",
}
CHECK = {  # (sort keys, value columns) for the cross-check with DuckDB
    "Q1": (["meter_id", "day"], ["kwh"]),
    "Q2": (["month", "region", "tariff"], ["kwh"]),
    "Q3": (["meter_id"], ["mean_kwh", "std_kwh", "max_kwh", "load_factor", "zero_readings"]),
    "Q4": (["area_id", "day"], ["supply_kwh", "billed_kwh", "loss_kwh", "loss_ratio"]),
}


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv():
    if not os.path.exists(PY):
        sh([sys.executable, "-m", "venv", VENV])
    try:
        sh([PY, "-c", "import numpy, pyarrow, duckdb, polars"], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        sh([PY, "-m", "pip", "install", "-q", "numpy", "pyarrow", "duckdb", "polars"])


def timed(cmd):
    t0 = time.perf_counter()
    out = sh(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-out"))
    ap.add_argument("--skip-peers", action="store_true")
    a = ap.parse_args()
    ensure_venv()
    if not os.path.exists(GRIDMARK):
        sh(["cargo", "build", "--release", "-p", "gridmark"], cwd=ROOT)
    data = os.path.join(a.out, f"ami_{a.meters}x{a.days}")
    if not os.path.exists(os.path.join(data, "readings.parquet")):
        sh([PY, os.path.join(SHARED, "gen_ami.py"), data, "--meters", str(a.meters), "--days", str(a.days), "--parquet"])
    res = {"experiment": "ami_bench", "meters": a.meters, "days": a.days}
    if not a.skip_peers:
        out = sh([PY, os.path.join(SHARED, "ami_queries.py"), data], stdout=subprocess.PIPE, text=True).stdout
        res["peers"] = json.loads(out.strip().splitlines()[-1])

    lake = os.path.join(a.out, "lake")
    import_times, peak_rss = [], []
    for rep in range(3):
        shutil.rmtree(lake, ignore_errors=True)
        t, out = timed(["/usr/bin/time", "-f", "%M", GRIDMARK, "--data", lake, "import", "readings",
                        os.path.join(data, "readings.csv"), "--json"])
        import_times.append(t)
        peak_rss.append(int(out.stderr.strip().splitlines()[-1]))
        rep_json = json.loads(out.stdout)
    res["gridmark"] = {"Q0": {"s": statistics.median(import_times), "all": [round(x, 3) for x in import_times],
                              "peak_rss_mb": max(peak_rss) / 1024, "accepted": rep_json["files"][0]["accepted"],
                              "lake_bytes": sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(lake, "tables")) for f in fs)}}
    sh([GRIDMARK, "--data", lake, "import", "meters", os.path.join(data, "customers.csv")], stdout=subprocess.DEVNULL)
    sh([GRIDMARK, "--data", lake, "import", "customers", os.path.join(data, "customers.csv")], stdout=subprocess.DEVNULL)
    sh([GRIDMARK, "--data", lake, "import", "area_supply", os.path.join(data, "area_supply.csv")], stdout=subprocess.DEVNULL)

    sys.path.insert(0, SHARED)
    import ami_queries
    import duckdb, numpy as np, polars as pl
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{TZ}';")
    ref_sql = ami_queries.sql_text(data)
    for q, sql in QUERIES.items():
        out_file = os.path.join(a.out, f"{q}.parquet")
        t, out = timed([GRIDMARK, "--data", lake, "sql", sql, "--repeat", "3", "--timing", "--format", "parquet", "--out", out_file])
        timing = json.loads([l for l in out.stderr.splitlines() if l.startswith("{")][-1])
        mine = pl.read_parquet(out_file)
        ref = pl.from_arrow(con.sql(ref_sql[q]).arrow().read_all())
        keys, vals = CHECK[q]
        assert mine.height == ref.height, (q, mine.height, ref.height)
        def arr(df):
            df = df.with_columns([pl.col(k).cast(pl.String) for k in keys]).sort(keys, nulls_last=True)
            return np.column_stack([df[v].cast(pl.Float64).to_numpy() for v in vals])
        a_mine, a_ref = arr(mine), arr(ref)
        diff = float(np.nanmax(np.abs(a_mine - a_ref)))
        # Sums of millions of kWh in another order differ in the last bits: relative 1e-10.
        assert np.allclose(a_mine, a_ref, rtol=1e-10, atol=1e-6, equal_nan=True), (q, diff)
        res["gridmark"][q] = {"s": timing["median_s"], "all": timing["all"], "rows": mine.height, "max_abs_diff_vs_duckdb": diff}
        os.remove(out_file)

    print("\n| step | gridmark | DuckDB | Polars | gridmark / DuckDB |")
    print("|---|---|---|---|---|")
    for q in ["Q0", "Q1", "Q2", "Q3", "Q4"]:
        g = res["gridmark"][q]["s"]
        d = res.get("peers", {}).get("duckdb", {}).get(q, {}).get("s")
        p = res.get("peers", {}).get("polars", {}).get(q, {}).get("s")
        ratio = f"{g / d:.2f}x" if d else "-"
        print(f"| {q} | {g:.3f} s | {d if d is None else f'{d:.3f} s'} | {p if p is None else f'{p:.3f} s'} | {ratio} |")
    print(json.dumps(res, separators=(",", ":")))


if __name__ == "__main__":
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        ensure_venv()
        os.execv(PY, [PY] + sys.argv)
    main()
