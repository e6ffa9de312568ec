#!/usr/bin/env python3
"""`gridmark influence` on a generated graph of 1,000,000 customers and 10,000,000 ties, in release.

Ties join a uniformly drawn customer to one drawn with a heavy tail (index = n·u³), so a few
hubs hold many ties, as referral graphs do. Seed 7. Import and analysis are timed apart; the
analysis peak memory comes from /usr/bin/time. No peer is run: networkx's PageRank on 10 M
edges takes far longer than the goal and is not a fair match. Writes
docs/results/influence_bench.json.

    python3 bench/influence_bench.py [--nodes 1000000] [--edges 10000000] [--dir /tmp/influence-bench]
"""
import argparse, json, os, random, re, shutil, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gridmark")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--dir", default="/tmp/influence-bench")
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    csv = os.path.join(a.dir, "relations.csv")
    r = random.Random(7)
    kinds = ["referral", "neighbour", "family", "social"]
    t = time.perf_counter()
    with open(csv, "w") as f:
        f.write("src_customer_id,dst_customer_id,kind,weight\n")
        n = a.nodes
        for start in range(0, a.edges, 100_000):
            rows = []
            for _ in range(min(100_000, a.edges - start)):
                s = r.randrange(n)
                d = int(n * r.random() ** 3)
                if d == s:
                    d = (d + 1) % n
                rows.append(f"C{s:07d},C{d:07d},{kinds[s % 4]},{1 + (s + d) % 3}\n")
            f.write("".join(rows))
    gen = time.perf_counter() - t
    lake = os.path.join(a.dir, "lake")
    t = time.perf_counter()
    subprocess.run([BIN, "--data", lake, "import", "relations", csv], check=True, capture_output=True)
    imp = time.perf_counter() - t
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", BIN, "--data", lake, "influence", "--top", "3", "--json"],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    doc = json.loads(out.stdout)
    result = {"nodes": doc["customers"], "ties": doc["ties"], "communities": doc["communities"],
              "pagerank_passes": doc["pagerank_passes"], "generate_seconds": gen, "import_seconds": imp,
              "influence_wall_seconds": wall, "influence_job_seconds": doc["seconds"], "peak_rss_mib": rss,
              "top": [(x["customer_id"], round(x["pagerank_ratio"], 1)) for x in doc["top"]]}
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.join(ROOT, "docs", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "results", "influence_bench.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
