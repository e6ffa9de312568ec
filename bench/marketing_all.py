#!/usr/bin/env python3
"""All six marketing and service analyses of issue 7 on the demo utility, in release.

Builds the default demo (2,000 customers, 365 days, seed 42) unless --lake points at one,
then times each analysis as a separate process (wall clock, best of --repeat runs) and the
sum. Also runs the staff assessment against the demo's hidden staff quality for each quarter.
Writes docs/results/marketing_all.json.

    cargo build --release
    python3 bench/marketing_all.py [--lake /tmp/gridmark-demo] [--repeat 3]
"""
import argparse, json, os, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gridmark")

ANALYSES = [
    ("influence", ["influence", "--json"]),
    ("lifecycle", ["lifecycle", "--json"]),
    ("siting", ["siting", "--new", "3", "--json"]),
    ("siting (p-median)", ["siting", "--new", "3", "--objective", "median", "--json"]),
    ("channels", ["channels", "--json"]),
    ("satisfaction", ["satisfaction", "--json"]),
    ("staff assess", ["staff", "assess", "--period", "2025-Q1", "--json"]),
]


def run(lake, args):
    t = time.perf_counter()
    out = subprocess.run([BIN, "--data", lake] + args, check=True, capture_output=True, text=True)
    return time.perf_counter() - t, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", default="/tmp/gridmark-demo")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} is missing: run `cargo build --release` first")
    if not os.path.exists(os.path.join(a.lake, "truth", "staff.csv")):
        t = time.perf_counter()
        subprocess.run([BIN, "demo", "--dir", a.lake], check=True, capture_output=True)
        print(f"demo built in {time.perf_counter() - t:.1f} s at {a.lake}")
    times = {}
    for name, args in ANALYSES:
        best = min(run(a.lake, args)[0] for _ in range(a.repeat))
        times[name] = round(best, 3)
        print(f"{name:<20} {best:7.2f} s")
    six = sum(v for k, v in times.items() if k != "siting (p-median)")
    print(f"{'all six':<20} {six:7.2f} s")
    truth = os.path.join(a.lake, "truth", "staff.csv")
    quarters = {}
    for q in ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2025"]:
        _, out = run(a.lake, ["staff", "assess", "--period", q, "--truth", truth, "--json"])
        r = json.loads(out)
        quarters[q] = {"orders": r["orders"], "surveys": r["surveys"], **r["truth"]}
        t = r["truth"]
        print(
            f"staff {q}: orders {r['orders']}, satisfaction raw/shrunk "
            f"{t['satisfaction_raw_spearman']:.3f}/{t['satisfaction_shrunk_spearman']:.3f}, speed "
            f"raw/shrunk {t['speed_raw_spearman']:.3f}/{t['speed_shrunk_spearman']:.3f}, "
            f"composite {t['composite_spearman']:.3f}"
        )
    _, out = run(a.lake, ["satisfaction", "--json"])
    s = json.loads(out)
    _, out = run(a.lake, ["channels", "--json"])
    c = json.loads(out)
    result = {
        "experiment": "marketing_all",
        "lake": a.lake,
        "seconds": times,
        "all_six_seconds": round(six, 3),
        "staff_truth_spearman": quarters,
        "satisfaction": {
            "answers": s["answers"],
            "csat": s["overall"]["csat"],
            "nps": s["overall"]["nps"],
            "tests": s["tests_made"],
            "changes": len(s["changes"]),
            "effects": s["effects"],
            "sentiment_csat_correlation": s["sentiment_csat_correlation"],
        },
        "channels": {
            k: c[k]
            for k in [
                "contacts",
                "digital_share_first_3m",
                "digital_share_last_3m",
                "digital_trend_points_per_year",
                "movable_customers",
                "onboarding_customers",
            ]
        },
    }
    path = os.path.join(ROOT, "docs", "results", "marketing_all.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
