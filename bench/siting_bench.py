#!/usr/bin/env python3
"""`gridmark siting` on 1,000,000 customers and 10,000 candidate sites, in release.

Customers are drawn around 40 towns of different sizes on a 2° × 2° area (about 220 × 190 km)
with 1 in 5 spread evenly; 25 existing halls sit in the largest towns; candidates are 10,000
uniform random points. Seed 7. Writes docs/results/siting_bench.json.

    python3 bench/siting_bench.py [--customers 1000000] [--candidates 10000] [--new 20]
"""
import argparse, json, os, random, re, shutil, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gridmark")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=10_000)
    ap.add_argument("--new", type=int, default=20)
    ap.add_argument("--dir", default="/tmp/siting-bench")
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    r = random.Random(7)
    towns = [(30 + 2 * r.random(), 119 + 2 * r.random(), r.paretovariate(1.2)) for _ in range(40)]
    total = sum(t[2] for t in towns)
    with open(os.path.join(a.dir, "customers.csv"), "w") as f:
        f.write("customer_id,lat,lon\n")
        for i in range(a.customers):
            if r.random() < 0.2:
                lat, lon = 30 + 2 * r.random(), 119 + 2 * r.random()
            else:
                x = r.random() * total
                for t in towns:
                    x -= t[2]
                    if x <= 0:
                        break
                lat, lon = r.gauss(t[0], 0.05), r.gauss(t[1], 0.05)
            f.write(f"C{i:07d},{lat:.5f},{lon:.5f}\n")
    big = sorted(towns, key=lambda t: -t[2])[:25]
    with open(os.path.join(a.dir, "halls.csv"), "w") as f:
        f.write("hall_id,lat,lon\n")
        for k, t in enumerate(big):
            f.write(f"H{k:02d},{t[0]:.5f},{t[1]:.5f}\n")
    with open(os.path.join(a.dir, "candidates.csv"), "w") as f:
        f.write("id,lat,lon\n")
        for k in range(a.candidates):
            f.write(f"S{k:05d},{30 + 2 * r.random():.5f},{119 + 2 * r.random():.5f}\n")
    lake = os.path.join(a.dir, "lake")
    for table, name in [("customers", "customers.csv"), ("service_halls", "halls.csv")]:
        subprocess.run([BIN, "--data", lake, "import", table, os.path.join(a.dir, name)], check=True, capture_output=True)
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", BIN, "--data", lake, "siting", "--new", str(a.new),
                          "--candidates", os.path.join(a.dir, "candidates.csv"), "--json"],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    doc = json.loads(out.stdout)
    result = {k: doc[k] for k in ["customers", "candidates", "existing_halls", "radius_km", "share_before",
                                   "share_after", "upper_bound", "gap", "seconds"]}
    result["upper_bound_share"] = doc["upper_bound"] / doc["total"]
    result["wall_seconds"] = wall
    result["peak_rss_mib"] = rss
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.join(ROOT, "docs", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "results", "siting_bench.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
