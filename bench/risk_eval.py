#!/usr/bin/env python3
"""Early-warning rules on real smart-meter data: London LCL households with injected theft.

Reads every household of ../shared/data/lcl_daily with a reading on every day of 2013, attacks
a random 10 % of them from a random onset day (1 April … 31 October), imports the result into a
fresh lake with `gridmark import readings`, and replays the rules day by day with
`gridmark risk run --from … --to … --dry-run --json`.

Attacks (Jokar, Arianpoo & Leung 2016, applied from an onset instead of over the whole series,
because an early-warning rule is meant to catch a change): h1 x·α with one α ~ U(0.1, 0.8) per
household; h2 on/off: zero for a random 7–30 days, then back; h3 x·α_t with a new
α_t ~ U(0.1, 0.8) every day; b "bypass": x·α with α ~ U(0.05, 0.4), the demo's bypass range.

Reported per rule variant: share of attacked households caught (a finding at or after onset),
median days from onset to the first finding, and on the honest households the share ever
flagged and the findings per 1,000 household-days (false alarms; the alert log de-duplicates
consecutive days into one alert, so the number of alerts is lower).

    python3 bench/risk_eval.py [--bin target/release/gridmark] [--blocks 56] [--json docs/results/risk_eval.json]
"""
import argparse, csv, gzip, json, os, random, statistics, subprocess, sys, tempfile, time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "lcl_daily")
FIRST, LAST = date(2013, 1, 1), date(2013, 12, 31)

VARIANTS = {
    "14 d vs 56 d, < 0.4×, peers, held 14 d": dict(window=14, baseline=56, ratio=0.4, peer=True, sustain=14),
    "14 d vs 56 d, < 0.4×, peers, held 7 d (shipped)": dict(window=14, baseline=56, ratio=0.4, peer=True, sustain=7),
    "14 d vs 56 d, < 0.4×, peers, at once": dict(window=14, baseline=56, ratio=0.4, peer=True, sustain=1),
    "14 d vs 56 d, < 0.4×, no peers, at once": dict(window=14, baseline=56, ratio=0.4, peer=False, sustain=1),
    "7 d vs 28 d, < 0.5×, peers, held 14 d": dict(window=7, baseline=28, ratio=0.5, peer=True, sustain=14),
    "7 d vs 28 d, < 0.5×, no peers, at once": dict(window=7, baseline=28, ratio=0.5, peer=False, sustain=1),
}


def load(blocks):
    days = (LAST - FIRST).days + 1
    series = {}
    for b in range(blocks):
        path = os.path.join(DATA, f"block_{b}.csv.gz")
        if not os.path.exists(path):
            continue
        with gzip.open(path, "rt") as f:
            for row in csv.DictReader(f):
                d = date.fromisoformat(row["day"])
                if not (FIRST <= d <= LAST) or row["energy_sum"] in ("", "Null"):
                    continue
                series.setdefault(row["LCLid"], [None] * days)[(d - FIRST).days] = float(row["energy_sum"])
    return {k: v for k, v in series.items() if all(x is not None for x in v)}


def attack(series, rng, share):
    honest = sorted(series)
    chosen = rng.sample(honest, int(len(honest) * share))
    kinds = ["h1", "h2", "h3", "bypass"]
    truth = {}
    for i, h in enumerate(chosen):
        kind = kinds[i % len(kinds)]
        onset = rng.randint((date(2013, 4, 1) - FIRST).days, (date(2013, 10, 31) - FIRST).days)
        x = series[h]
        if kind == "h1":
            a = rng.uniform(0.1, 0.8)
            end = len(x)
            for t in range(onset, end):
                x[t] *= a
        elif kind == "bypass":
            a = rng.uniform(0.05, 0.4)
            end = len(x)
            for t in range(onset, end):
                x[t] *= a
        elif kind == "h2":
            end = min(len(x), onset + rng.randint(7, 30))
            for t in range(onset, end):
                x[t] = 0.0
        else:
            end = len(x)
            for t in range(onset, end):
                x[t] *= rng.uniform(0.1, 0.8)
        truth[h] = (kind, onset, end)
    return truth


def rules_file(path, v):
    peer = 'peer_adjust = "all"\n' if v["peer"] else ""
    with open(path, "w") as f:
        f.write(f"""[[rule]]
id = "consumption-drop"
indicator = "daily_kwh"
window = {v['window']}
baseline = {v['baseline']}
threshold = {{ ratio_below = {v['ratio']} }}
min_baseline = 1.0
sustain = {v['sustain']}
{peer}
[[rule]]
id = "zero-consumption"
indicator = "zero_days"
window = 30
threshold = {{ above = 2 }}
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "gridmark"))
    ap.add_argument("--blocks", type=int, default=56)
    ap.add_argument("--share", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json")
    a = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"skipped: {DATA} is absent (the LCL data is not part of the project)")
    series = load(a.blocks)
    rng = random.Random(a.seed)
    truth = attack(series, rng, a.share)
    honest = [h for h in series if h not in truth]
    print(f"{len(series)} households with every day of 2013; {len(truth)} attacked", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="gm-risk-eval-")
    csv_path = os.path.join(work, "lcl_2013_attacked.csv")
    with open(csv_path, "w") as f:
        f.write("LCLid,day,energy_sum\n")
        for h, x in series.items():
            for t, v in enumerate(x):
                f.write(f"{h},{FIRST + timedelta(days=t)},{v:.4f}\n")
    lake = os.path.join(work, "lake")
    subprocess.run([a.bin, "--data", lake, "import", "readings", csv_path, "--tz", "Europe/London"],
                   check=True, capture_output=True)
    results = {}
    for name, v in VARIANTS.items():
        rules = os.path.join(work, "rules.toml")
        rules_file(rules, v)
        t0 = time.time()
        out = subprocess.run([a.bin, "--data", lake, "risk", "run", "--rules", rules, "--from", "2013-03-01",
                              "--to", "2013-12-31", "--dry-run", "--json"], check=True, capture_output=True).stdout
        secs = time.time() - t0
        findings = json.loads(out)["evaluation"]["findings"]
        first = {}
        days_of = {}
        for f in findings:
            d = (date.fromisoformat(f["as_of"]) - FIRST).days
            days_of.setdefault((f["rule"], f["subject"]), []).append(d)
            first.setdefault(f["subject"], []).append(d)
        row = {"seconds": round(secs, 1), "per_attack": {}}
        for kind in ["h1", "h2", "h3", "bypass"]:
            hs = [h for h, t in truth.items() if t[0] == kind]
            delays = []
            for h in hs:
                onset = truth[h][1]
                after = [d for d in first.get(h, []) if d >= onset]
                if after:
                    delays.append(min(after) - onset)
            row["per_attack"][kind] = {
                "households": len(hs),
                "caught": round(len(delays) / max(1, len(hs)), 3),
                "median_delay_days": statistics.median(delays) if delays else None,
            }
        all_attacked = [h for h in truth]
        caught = sum(1 for h in all_attacked if any(d >= truth[h][1] for d in first.get(h, [])))
        row["caught_all"] = round(caught / len(all_attacked), 3)
        eval_days = (LAST - date(2013, 3, 1)).days + 1
        flagged = sum(1 for h in honest if h in first)
        honest_findings = sum(len(first.get(h, [])) for h in honest)
        row["honest_flagged_share"] = round(flagged / len(honest), 4)
        row["honest_findings_per_1000_household_days"] = round(1000 * honest_findings / (len(honest) * eval_days), 3)
        row["honest_households"] = len(honest)
        # Episodes: runs of consecutive finding days of one rule on one household (one alert
        # each while nobody resolves it in between).
        honest_set = set(honest)
        for rule in ["consumption-drop", "zero-consumption"]:
            episodes = 0
            flagged_r = 0
            for (r, h), ds in days_of.items():
                if r != rule or h not in honest_set:
                    continue
                flagged_r += 1
                ds = sorted(set(ds))
                episodes += 1 + sum(1 for x, y in zip(ds, ds[1:]) if y != x + 1)
            row[f"honest_{rule}"] = {
                "flagged_share": round(flagged_r / len(honest), 4),
                "episodes_per_1000_household_months": round(1000 * episodes / (len(honest) * eval_days / 30.4), 2),
            }
        results[name] = row
        print(f"{name}: caught {row['caught_all']:.3f} "
              + " ".join(f"{k} {p['caught']:.2f}/{p['median_delay_days']}d" for k, p in row["per_attack"].items())
              + f"; honest flagged {row['honest_flagged_share']:.3f}, "
              f"{row['honest_findings_per_1000_household_days']} findings/1000 household-days; "
              + "; ".join(f"{r}: {row['honest_' + r]['flagged_share']:.3f} flagged, "
                          f"{row['honest_' + r]['episodes_per_1000_household_months']} episodes/1000 household-months"
                          for r in ["consumption-drop", "zero-consumption"])
              + f" ({secs:.1f} s)")
    report = {"households": len(series), "attacked": len(truth), "seed": a.seed, "share": a.share,
              "evaluated": "2013-03-01 … 2013-12-31, every day", "variants": results}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
