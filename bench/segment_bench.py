#!/usr/bin/env python3
"""Segmentation side by side with scikit-learn's KMeans (n_init=10), in release:

1. LCL households (2013, >= 300 complete days): `gridmark segment eval` on the 56 block files,
   then the peer on the identical standardised matrix (`--features-out`).
2. One million synthetic customers (12 load-shape features from six archetypes, seed 7), the
   same way, with gridmark's peak memory (/usr/bin/time when present, else ru_maxrss).

Writes docs/results/segment_bench.json. Run from the repository root after `cargo build --release`:

    python3 bench/segment_bench.py [--k 6] [--rows 1000000] [--skip-lcl]
"""
import argparse, json, os, resource, subprocess, sys, time

from peer_venv import ensure_venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gridmark")
DATA = os.path.join(ROOT, "..", "shared", "data", "lcl_daily")


def run_gridmark(args):
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([BIN] + args, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    doc = json.loads(out.stdout)
    doc["wall_seconds"] = wall
    doc["peak_rss_mib"] = max(rss, before) / 1024
    return doc


def peer(matrix, k, seed):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "segment_peer.py"), matrix, "--k", str(k), "--seed", str(seed), "--json"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def synthetic(path, rows, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    # Six archetypes' working-day block profiles, rest-day, summer, winter ratios and log kWh.
    centres = np.array([
        [0.58, 0.49, 1.08, 0.78, 0.81, 0.91, 1.90, 1.45, 1.07, 1.02, 1.10, 2.3],
        [0.27, 0.28, 0.93, 1.90, 1.84, 1.71, 0.74, 0.33, 0.37, 1.08, 0.98, 4.6],
        [0.30, 0.29, 0.44, 1.30, 1.54, 1.57, 1.74, 0.82, 1.03, 1.03, 0.98, 4.7],
        [0.32, 0.32, 1.04, 2.00, 1.84, 1.70, 0.41, 0.38, 0.27, 1.08, 0.89, 7.9],
        [0.37, 0.39, 1.28, 1.25, 1.25, 1.32, 1.32, 0.83, 0.58, 1.08, 0.89, 7.9],
        [1.01, 1.02, 0.97, 1.02, 1.01, 0.97, 1.02, 0.97, 0.87, 1.06, 0.89, 7.8],
    ])
    share = np.array([0.85, 0.06, 0.05, 0.015, 0.01, 0.015])
    which = rng.choice(6, size=rows, p=share)
    x = centres[which] + rng.normal(0, 0.08, size=(rows, 12)) * np.r_[np.ones(11), 5.0]
    with open(path, "w") as f:
        f.write("id," + ",".join([f"block{b}" for b in range(8)] + ["rest_day_ratio", "summer_ratio", "winter_ratio", "log_kwh"]) + "\n")
        for i in range(0, rows, 100_000):
            chunk = x[i:i + 100_000]
            f.write("".join(f"C{i + r:07d}," + ",".join(f"{v:.5f}" for v in row) + "\n" for r, row in enumerate(chunk)))


def main():
    ensure_venv(__file__, ["numpy", "pandas", "sklearn"], ["numpy", "pandas", "scikit-learn"])
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-lcl", action="store_true")
    ap.add_argument("--work", default="/tmp/gridmark-segment-bench")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    results = {}
    if not a.skip_lcl:
        blocks = sorted(os.path.join(DATA, f) for f in os.listdir(DATA) if f.startswith("block_"))
        z = os.path.join(a.work, "lcl_z.csv")
        g = run_gridmark(["segment", "eval", "--input", *blocks, "--k", str(a.k), "--seed", str(a.seed),
                          "--features-out", z, "--json"])
        p = peer(z, a.k, a.seed)
        results["lcl_2013"] = {"gridmark": {k: g[k] for k in ("customers", "k", "inertia", "fit_seconds", "silhouette", "stability_ari", "wall_seconds")}, "sklearn": p}
        print(json.dumps(results["lcl_2013"], indent=2), flush=True)
    src = os.path.join(a.work, f"synthetic_{a.rows}.csv")
    if not os.path.exists(src):
        t = time.perf_counter()
        synthetic(src, a.rows, 7)
        print(f"wrote {src} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    z = os.path.join(a.work, f"synthetic_{a.rows}_z.csv")
    # Three runs each; the fit time reported is the median (two cores are noisy).
    runs = [run_gridmark(["segment", "eval", "--features", src, "--k", str(a.k), "--seed", str(a.seed),
                          "--features-out", z, "--json"]) for _ in range(3)]
    g = dict(runs[0])
    g["fit_seconds"] = sorted(r["fit_seconds"] for r in runs)[1]
    g["fit_seconds_runs"] = [r["fit_seconds"] for r in runs]
    peers = [peer(z, a.k, a.seed) for _ in range(3)]
    p = dict(peers[0])
    p["fit_seconds"] = sorted(r["fit_seconds"] for r in peers)[1]
    p["fit_seconds_runs"] = [r["fit_seconds"] for r in peers]
    results[f"synthetic_{a.rows}"] = {"gridmark": {k: g[k] for k in ("customers", "k", "inertia", "fit_seconds", "fit_seconds_runs", "silhouette", "stability_ari", "wall_seconds", "peak_rss_mib")}, "sklearn": p}
    print(json.dumps(results[f"synthetic_{a.rows}"], indent=2), flush=True)
    out = os.path.join(ROOT, "docs", "results", "segment_bench.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
