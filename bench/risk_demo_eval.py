#!/usr/bin/env python3
"""The shipped risk rules on a demo utility, against what the generator planted.

Builds `gridmark demo` (2,000 customers, 365 days, seed 42 by default), writes the shipped
rules with `gridmark risk rules init`, replays them every day from 1 March with
`gridmark risk run --from … --to … --dry-run --json`, and compares the flagged subjects of
each rule with truth/anomalies.csv and truth/customers.csv:

- consumption-drop vs bypass thefts (theft_bypass) that start after 1 March;
- zero-consumption vs zero runs covering three whole local days;
- reverse-flow vs register resets (one large negative interval);
- bill-spike vs planted bill errors; arrears-60 vs customers planted as non-payers;
- line-loss rules vs areas with planted thefts or outages.

    python3 bench/risk_demo_eval.py [--bin target/release/gridmark] [--customers 2000] [--days 365]
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAY = 86_400_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "gridmark"))
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gm-risk-demo-")
    lake = os.path.join(work, "lake")
    subprocess.run([a.bin, "demo", "--dir", lake, "--customers", str(a.customers), "--days", str(a.days),
                    "--seed", str(a.seed)], check=True, capture_output=True)
    rules = os.path.join(work, "rules.toml")
    subprocess.run([a.bin, "risk", "rules", "init", rules], check=True, capture_output=True)
    last = subprocess.run([a.bin, "--data", lake, "sql", "SELECT max(day) AS d FROM daily_energy", "--format", "csv"],
                          check=True, capture_output=True, text=True).stdout.splitlines()[1]
    t0 = time.time()
    out = subprocess.run([a.bin, "--data", lake, "risk", "run", "--rules", rules, "--from", "2025-03-01", "--to", last,
                          "--dry-run", "--json"], check=True, capture_output=True).stdout
    secs = time.time() - t0
    ev = json.loads(out)["evaluation"]
    flagged = defaultdict(set)
    for f in ev["findings"]:
        flagged[f["rule"]].add(f["subject"])
    truth = list(csv.DictReader(open(os.path.join(lake, "truth", "anomalies.csv"))))
    customers = list(csv.DictReader(open(os.path.join(lake, "truth", "customers.csv"))))

    def whole_days(t):
        s, e = int(t["start_ms"]) + 8 * 3_600_000, int(t["end_ms"]) + 8 * 3_600_000
        return e // DAY - (s + DAY - 1) // DAY

    planted = {
        "consumption-drop": {t["meter_id"] for t in truth if t["kind"] == "theft_bypass" and t["start"] >= "2025-03-01"},
        "zero-consumption": {t["meter_id"] for t in truth if t["kind"] == "zero_run" and t["start"] >= "2025-03-01"
                             and whole_days(t) >= 3},
        "reverse-flow": {t["meter_id"] for t in truth if t["kind"] == "register_reset"},
        "bill-spike": {t["customer_id"] for t in truth if t["kind"] == "bill_error" and t["start"] >= "2025-03-01"},
        "arrears-60": {c["customer_id"] for c in customers if c["pay_habit"] == "non_payer"},
    }
    report = {"customers": a.customers, "days": a.days, "seed": a.seed, "evaluated": f"2025-03-01 … {last}",
              "seconds": round(secs, 1), "rules": {}}
    print(f"{a.customers} customers, {a.days} days, seed {a.seed}; rules replayed daily 2025-03-01 … {last} in {secs:.1f} s")
    for r in ev["rules"]:
        rule = r["rule"]
        got = flagged.get(rule, set())
        row = {"flagged": len(got), "findings": r["findings"]}
        if rule in planted:
            p = planted[rule]
            hit = got & p
            row.update(planted=len(p), caught=len(hit),
                       precision=round(len(hit) / len(got), 3) if got else None,
                       recall=round(len(hit) / len(p), 3) if p else None)
        if rule in planted:
            # What the flags beyond the planted target are, by what else was planted there.
            cust_of = {t["meter_id"]: t["customer_id"] for t in truth}
            habit = {c["customer_id"]: c for c in customers}
            why = defaultdict(int)
            for s_ in got - planted[rule]:
                kinds = sorted({t["kind"] for t in truth if s_ in (t["meter_id"], t["customer_id"])})
                c = habit.get(s_) or habit.get("C" + s_[1:]) or {}
                if kinds:
                    why["+".join(kinds)] += 1
                elif c.get("churner") == "1":
                    why["churner"] += 1
                elif rule == "arrears-60" and c:
                    why["pay habit " + c["pay_habit"]] += 1
                else:
                    why["nothing planted"] += 1
            row["others"] = dict(sorted(why.items(), key=lambda kv: -kv[1]))
        report["rules"][rule] = row
        print(f"  {rule:<22} flagged {len(got):>4}" + (
            f"; planted {row['planted']:>3}, caught {row['caught']:>3} (recall {row['recall']}, precision {row['precision']})"
            if rule in planted else "") + (f"; others: {row['others']}" if row.get("others") else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
