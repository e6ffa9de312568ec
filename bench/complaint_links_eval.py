#!/usr/bin/env python3
"""How often `gridmark text analyze` names the planted cause of a demo complaint.

The demo plants meter faults (stuck, zero_run), communication gaps (whose reads VEE fills, so
the expected cause is estimated reads), bill errors (billed on an estimated read)
and area power cuts, writes them to truth/anomalies.csv, and makes some affected customers
complain. For each complaint whose customer had a planted event just before it (a fault
ending in the 10 days before, a bill error whose month ended in the 45 days before, an outage
of its area in the day before), this counts how often the link's cause is the planted one.
Complaints with no planted event show how often a cause is named anyway (some are right: the
demo also makes real high bills that are not errors).

    python3 bench/complaint_links_eval.py DEMO_DIR [--bin target/release/gridmark]
"""
import argparse, csv, io, json, os, subprocess, sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sql(bin_, lake, q):
    out = subprocess.run([bin_, "--data", lake, "sql", q, "--format", "csv"], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def ms(ts):
    d = datetime.fromisoformat(ts.replace("Z", "+00:00").replace(" ", "T"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp() * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lake")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "gridmark"))
    a = ap.parse_args()
    truth = list(csv.DictReader(open(os.path.join(a.lake, "truth", "anomalies.csv"))))
    links = sql(a.bin, a.lake, "SELECT order_id, customer_id, CAST(created_at AS VARCHAR) AS created_at, category, cause FROM complaint_links")
    areas = {r["customer_id"]: r["area_id"] for r in sql(a.bin, a.lake, "SELECT customer_id, area_id FROM customers")}
    day = 86_400_000
    events = defaultdict(list)  # customer -> (kind, start, end)
    outages = defaultdict(list)  # area -> start
    for t in truth:
        s, e = int(t["start_ms"]), int(t["end_ms"])
        if t["kind"] == "outage":
            area = t["note"].split()[1]
            outages[area].append(s)
        elif t["kind"] in ("stuck", "zero_run"):
            events[t["customer_id"]].append(("meter_fault", s, e))
        elif t["kind"] == "gap":  # missing reads, filled by VEE: the fact is estimated reads
            events[t["customer_id"]].append(("estimated_reads", s, e))
        elif t["kind"] == "bill_error" and float(t["param"]) > 1.0:
            events[t["customer_id"]].append(("high_bill", s, e))
    found, total, confusion = Counter(), Counter(), Counter()
    unplanted = Counter()
    for l in links:
        t = ms(l["created_at"])
        planted = set()
        for kind, s, e in events.get(l["customer_id"], []):
            window = 45 * day if kind == "high_bill" else 10 * day
            if t - window <= e <= t + day:
                planted.add(kind)
        if any(0 <= t - s <= 1 * day for s in outages.get(areas.get(l["customer_id"]), [])):
            planted.add("outage")
        if not planted:
            unplanted[l["cause"]] += 1
        for p in planted:
            total[p] += 1
            found[p] += l["cause"] == p
            confusion[f"{p} -> {l['cause']} ({l['category']})"] += 1
    result = {
        "complaints": len(links),
        "planted": {k: {"complaints": total[k], "cause_named": found[k],
                        "recall": found[k] / total[k] if total[k] else None} for k in sorted(total)},
        "without_planted_event": dict(unplanted),
        "planted_to_named": dict(sorted(confusion.items())),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
