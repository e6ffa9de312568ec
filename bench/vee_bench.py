#!/usr/bin/env python3
"""`gridmark vee run` beside the same VEE checks written as DuckDB SQL, on the shared AMI workload.

Runs in one go, on one machine:
  1. makes / reuses bench/.venv (numpy, pyarrow, duckdb, polars; helpers from bench/ami_bench.py);
  2. generates the workload with ../shared/bench/gen_ami.py into OUT/ami_NxD (default 2000 meters
     x 90 days = 17.28 M readings); with --anomalies, also a copy with injected VEE cases in
     OUT/ami_NxD_vee (see below) and that copy is what both engines validate;
  3. DuckDB (threads = 2, in-process timing around the SQL, median of 3, a fresh in-memory
     connection per repetition): readings.parquet -> VEE in SQL -> validated.parquet (meter_id,
     ts, kwh, quality), edits.parquet, findings.parquet, quality_daily.parquet, plus the counts;
  4. gridmark (release build, never built by this script): the readings, meters and customers
     imported into a lake once (OUT/vee_lake[_anomalies]), then `gridmark --data LAKE vee run
     --json` timed as a whole process, median of 3 (each run replaces readings_validated);
  5. cross-check: intervals per quality and their kWh, estimated / edited / left-missing counts,
     findings and intervals per rule, quality_daily totals; prints a Markdown table and one
     JSON line.

What the SQL does (VeeConfig::default(), crates/gridmark-metering/src/vee.rs):
  slot = round(epoch_ms / 900 000) per reading; one reading per (meter, slot): aligned readings
  first, then the earliest; a misaligned reading moved to its slot is `edited` (misaligned finding).
  p99 = the meter's non-negative value of rank round((n-1)*0.99), exactly gridmark's
  select_nth (read from a top-N list, max(v, N); quantile_cont would interpolate and
  quantile_disc uses another rank).
  register_reset: v < -max(20*p99, 50); negative: other v < 0, a meter with such values on >= 3
  distinct UTC days is net-metered (reverse_flow, flagged) else invalidated; spike: v >
  max(12*p99, 5); capacity: v > 3 * contract_kw * 0.25 (contract from customers.csv); stuck: runs
  of equal non-zero values over consecutive valid slots, length >= 8 with |v| >= 0.02 or length
  >= 96 (gaps-and-islands on the rows that repeat their predecessor, from one lag window pass);
  zero_run: runs of zeros >= 32 on meters whose remaining valid values are >= 50 % positive
  (flagged only). Gaps = maximal runs of missing or invalidated slots between the meter's first
  and last reading (missing slots from lag(slot), merged with invalid slots); gaps of <= 4
  slots with valid neighbours on both sides: linear interpolation; <= 672 slots: for each slot the
  mean of the same slot k = 1, 2, ... weeks before/after, adding weeks until >= 4 values are
  found (k <= 4), else the same for days (k <= 28), else left missing; longer gaps stay missing
  (not_estimated finding per gap with a missing slot). Daily counts per local day of the lake's
  zone (Asia/Shanghai; UTC offset per half hour like gridmark's OffsetCache): expected = the
  day's overlap with [first, last], less the few estimated / missing / edited slots.
  Duplicate slots are looked for in the window pass; only when there are some is the dedup
  (aligned first, then earliest; a QUALIFY row_number pass) run and the passes redone.
Simplifications against gridmark (said again in the output):
  - every meter has a 15-minute interval (gridmark keys series by (meter_id, interval_s));
  - contract_kw is joined from customers.csv on meter_id (gridmark: meters.customer_id ->
    customers); the net-metering flag of the meter archive is not used (the workload has none:
    gridmark passes net_metered = None, i.e. auto, too);
  - among exact duplicate timestamps the kept reading is arbitrary (gridmark: the first in
    input order; the lake import has already removed duplicates);
  - the validated Parquet file is not sorted (gridmark's lake files are sorted by meter, ts);
  - gridmark's finding `detail` strings are not reproduced.
The plain gen_ami workload is clean for VEE (no gaps, no negatives, no spikes, no repeats): both
engines find nothing and estimate nothing, so the cross-check there only covers counts and kWh.
--anomalies (deterministic, seed 11) writes a copy of the readings with, per meter at random:
misaligned readings (+60 s), capacity overruns, missing runs of 1-4 / 5-40 / 100-300 / 700-900
slots, spikes, register resets, stray negatives, a few net-metered meters (negatives on >= 3
days), stuck runs (8-150 slots) and zero runs (40-120 slots), so that every rule and both
estimation methods are exercised (and gridmark imports the matching readings.csv).

Usage: bench/vee_bench.py [--meters N] [--days D] [--out DIR] [--skip-gridmark] [--anomalies]
"""
import argparse, csv, json, os, shutil, statistics, subprocess, sys, time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing ami_bench
from ami_bench import ROOT, SHARED, VENV, PY, GRIDMARK, TZ, sh, ensure_venv, timed  # noqa: E402

STEP_MS = 900_000
# VeeConfig::default() (checked against `gridmark vee rules` when the binary exists).
CFG = dict(reset_factor=20.0, reset_min=50.0, spike_factor=12.0, spike_min=5.0, cap_factor=3.0,
           stuck_min=8, stuck_kwh=0.02, stuck_long=96, zero_min=32, linear_max_hours=1.0,
           estimate_max_hours=168.0, profile_weeks=4, auto_export_days=3, sufficient_share=0.9)
SIMPLIFICATIONS = [
    "every meter is taken as 15-minute (gridmark keys series by meter_id and interval_s)",
    "contract_kw joined from customers.csv on meter_id (gridmark: meters.customer_id -> customers)",
    "exact duplicate timestamps: kept reading arbitrary (gridmark: first in input order)",
    "validated.parquet is not sorted (gridmark writes sorted lake files); finding detail strings omitted",
]
RULES = ["misaligned", "register_reset", "negative", "reverse_flow", "spike", "capacity",
         "stuck", "zero_run", "not_estimated"]


def vee_sql(readings, customers, out_dir, cfg=CFG, tz=TZ):
    """The VEE pipeline as a list of (name, SQL) statements; the last ones write Parquet."""
    hours = STEP_MS / 3_600_000
    linear_max = int(cfg["linear_max_hours"] / hours)
    estimate_max = int(cfg["estimate_max_hours"] / hours)
    week, day = 7 * 86_400_000 // STEP_MS, 86_400_000 // STEP_MS
    need = 2 * min(cfg["profile_weeks"], 2)
    per_day = day
    p = lambda name: os.path.join(out_dir, name).replace("'", "''")
    c = dict(cfg, readings=readings.replace("'", "''"), customers=customers.replace("'", "''"),
             step=STEP_MS, linear_max=linear_max, estimate_max=estimate_max, week=week, day=day,
             need=need, hours=hours, tz=tz, weeks_days=cfg["profile_weeks"] * 7)
    bad = lambda x: (f"({x} < -m.reset_lim OR ({x} < 0 AND NOT m.net) OR {x} > m.spike_lim"
                     f" OR coalesce({x} > m.cap_lim, false))")
    c.update(bad_v=bad("v"), bad_pv=bad("pv"))
    s = {}
    # 1. Readings by slot. Rule::Misaligned: a reading off the 15-minute grid goes to the nearest
    #    slot (`moved`). Duplicates (two readings for one slot) are detected by the window pass;
    #    only then is `dedup` run (aligned reading first, then the earliest) and the passes redone.
    s["slots"] = """
CREATE OR REPLACE TEMP TABLE r AS
SELECT meter_id::VARCHAR AS meter_id, CAST(round(epoch_ms(ts) / {step}.0) AS BIGINT) AS slot,
       kwh AS v, epoch_ms(ts) % {step} <> 0 AS moved, epoch_ms(ts) AS t
FROM read_parquet('{readings}') WHERE isfinite(kwh)""".format(**c)
    s["dedup"] = """
CREATE OR REPLACE TEMP TABLE r AS
SELECT * FROM r QUALIFY row_number() OVER (PARTITION BY meter_id, slot ORDER BY moved, t) = 1"""
    # 2. Per meter: span and counts, then the nearest-rank p99 of the non-negative values
    #    (rank round((n-1)*0.99) as gridmark's select_nth) from a top-N list, and the limits.
    s["counts"] = """
CREATE OR REPLACE TEMP TABLE mc AS
SELECT meter_id, min(slot) AS first_slot, max(slot) AS last_slot, count(*) AS n,
       count(*) FILTER (WHERE v > 0) AS npos, count(*) FILTER (WHERE v >= 0) AS nn,
       -- rank of the p99 counted from the top (0-based)
       CASE WHEN count(*) FILTER (WHERE v >= 0) > 0 THEN count(*) FILTER (WHERE v >= 0) - 1
            - CAST(round((count(*) FILTER (WHERE v >= 0) - 1) * 0.99) AS BIGINT) END AS top_rank
FROM r GROUP BY meter_id"""
    s["top_n"] = "SELECT coalesce(max(top_rank), 0) + 1 FROM mc"
    s["meters"] = """
CREATE OR REPLACE TEMP TABLE m AS
WITH t AS (SELECT meter_id, max(v, {{top_n}}) FILTER (WHERE v >= 0) AS top FROM r GROUP BY meter_id),
k AS (SELECT meter_id::VARCHAR AS meter_id, max(contract_kw) AS contract_kw
      FROM read_csv('{customers}', header = true) GROUP BY 1),
q AS (SELECT mc.*, coalesce(t.top[top_rank + 1], 0.0) AS p99, k.contract_kw
      FROM mc LEFT JOIN t USING (meter_id) LEFT JOIN k USING (meter_id))
SELECT meter_id, first_slot, last_slot, n, npos, p99,
       greatest({reset_factor} * p99, {reset_min}) AS reset_lim,
       greatest({spike_factor} * p99, {spike_min}) AS spike_lim,
       CASE WHEN contract_kw > 0 THEN {cap_factor} * contract_kw * {hours} END AS cap_lim,
       false AS net
FROM q""".format(**c)
    # 3. Net metering (auto): exports, resets excluded, on >= 3 distinct UTC days.
    s["net"] = """
UPDATE m SET net = true FROM (
  SELECT r.meter_id FROM r JOIN m USING (meter_id) WHERE r.v < 0 AND r.v >= -m.reset_lim
  GROUP BY 1 HAVING count(DISTINCT r.slot * {step} // 86400000) >= {auto_export_days}) x
WHERE m.meter_id = x.meter_id""".format(**c)
    # 4. One window pass in slot order (lag of slot and value); the rule of the previous value
    #    is re-derived from the meter's limits. Keeps only the few rows that matter later:
    #    flagged by a point rule, moved, repeating its predecessor, after a hole, or duplicate.
    s["window"] = """
CREATE OR REPLACE TEMP TABLE ev AS
WITH w AS (
  SELECT meter_id, slot, v, moved,
         lag(slot) OVER o AS ps, lag(v) OVER o AS pv
  FROM r WINDOW o AS (PARTITION BY meter_id ORDER BY slot)),
f AS (
  SELECT w.meter_id, slot, v, moved, ps, ps = slot AS dup,
         CASE WHEN v < -m.reset_lim THEN 'register_reset'
              WHEN v < 0 THEN CASE WHEN m.net THEN 'reverse_flow' ELSE 'negative' END
              WHEN v > m.spike_lim THEN 'spike'
              WHEN v > m.cap_lim THEN 'capacity' END AS rule,
         NOT {bad_v} AS ok,
         coalesce(ps = slot - 1 AND pv = v AND NOT {bad_v} AND NOT {bad_pv}, false) AS cont_prev
  FROM w JOIN m USING (meter_id))
SELECT * FROM f WHERE rule IS NOT NULL OR moved OR cont_prev OR ps < slot - 1 OR dup""".format(**c)
    s["has_dups"] = "SELECT count(*) FROM ev WHERE dup"
    # 5. Runs of one value over consecutive valid slots (gaps and islands over the rows that
    #    repeat their predecessor; a run starts one slot before its first such row): stuck, zero_run.
    s["runs"] = """
CREATE OR REPLACE TEMP TABLE runs AS
WITH c AS (SELECT meter_id, slot, v, lag(slot) OVER (PARTITION BY meter_id ORDER BY slot) AS pc
           FROM ev WHERE cont_prev),
i AS (SELECT *, sum(CASE WHEN pc = slot - 1 THEN 0 ELSE 1 END) OVER (PARTITION BY meter_id ORDER BY slot) AS run FROM c)
SELECT meter_id, min(slot) - 1 AS a, max(slot) + 1 AS b, count(*) + 1 AS len, any_value(v) AS v
FROM i GROUP BY meter_id, run""".format(**c)
    s["invalid"] = """
CREATE OR REPLACE TEMP TABLE inv AS
SELECT meter_id, slot, v, rule FROM ev WHERE NOT ok
UNION ALL
SELECT meter_id, unnest(range(a, b)) AS slot, v, 'stuck' AS rule FROM runs
WHERE v <> 0 AND ((len >= {stuck_min} AND abs(v) >= {stuck_kwh}) OR len >= {stuck_long})""".format(**c)
    # 6. Gaps: missing stretches and invalid slots, merged into maximal runs.
    s["gaps"] = """
CREATE OR REPLACE TEMP TABLE gaps AS
WITH seg AS (
  SELECT meter_id, ps + 1 AS a, slot AS b FROM ev WHERE ps < slot - 1
  UNION ALL SELECT meter_id, slot, slot + 1 FROM inv),
o AS (SELECT *, lag(b) OVER (PARTITION BY meter_id ORDER BY a) AS pb FROM seg),
g AS (SELECT *, sum(CASE WHEN pb = a THEN 0 ELSE 1 END) OVER (PARTITION BY meter_id ORDER BY a) AS gid FROM o)
SELECT g.meter_id, min(a) AS a, max(b) AS b, max(b) - min(a) AS len,
       min(a) > any_value(m.first_slot) AND max(b) <= any_value(m.last_slot) AS interior
FROM g JOIN m USING (meter_id) GROUP BY g.meter_id, gid""".format(**c)
    # 7. Estimation inputs: every gap slot, and the clean values it may draw on.
    s["gap_slots"] = """
CREATE OR REPLACE TEMP TABLE gs AS
SELECT meter_id, a, b, len, slot,
       CASE WHEN interior AND len <= {linear_max} THEN 'linear'
            WHEN len <= {estimate_max} THEN 'profile' ELSE 'none' END AS method
FROM (SELECT *, unnest(range(a, b)) AS slot FROM gaps)""".format(**c)
    offs = """offs AS (
  SELECT 'w' AS kind, k, sgn * k * {week} AS off FROM range(1, {profile_weeks} + 1) t(k), (VALUES (-1), (1)) u(sgn)
  UNION ALL
  SELECT 'd', k, sgn * k * {day} FROM range(1, {weeks_days} + 1) t(k), (VALUES (-1), (1)) u(sgn))""".format(**c)
    c["offs"] = offs
    # Clean values at the linear neighbours and at +-1..4 weeks; the +-1..28 days only for the
    # slots with no value in any of those weeks (the fallback of profile_value).
    s["lookups"] = """
CREATE OR REPLACE TEMP TABLE lk AS
WITH {offs},
want AS (
  SELECT DISTINCT meter_id, a - 1 AS t FROM gs WHERE method = 'linear'
  UNION SELECT DISTINCT meter_id, b FROM gs WHERE method = 'linear'
  UNION SELECT meter_id, slot + off FROM gs, offs WHERE method = 'profile' AND kind = 'w'),
hit AS (SELECT r.meter_id, r.slot, r.v FROM r SEMI JOIN want ON r.meter_id = want.meter_id AND r.slot = want.t)
SELECT * FROM hit ANTI JOIN inv USING (meter_id, slot)""".format(**c)
    s["lookups_day"] = """
INSERT INTO lk
WITH {offs},
nw AS (
  SELECT meter_id, slot FROM gs WHERE method = 'profile'
  EXCEPT
  SELECT gs.meter_id, gs.slot FROM gs JOIN offs ON kind = 'w'
  JOIN lk ON lk.meter_id = gs.meter_id AND lk.slot = gs.slot + offs.off WHERE gs.method = 'profile'),
want AS (SELECT DISTINCT meter_id, slot + off AS t FROM nw, offs WHERE kind = 'd'),
hit AS (SELECT r.meter_id, r.slot, r.v FROM r SEMI JOIN want ON r.meter_id = want.meter_id AND r.slot = want.t)
SELECT * FROM hit ANTI JOIN inv USING (meter_id, slot) ANTI JOIN lk USING (meter_id, slot)""".format(**c)
    s["estimate"] = """
CREATE OR REPLACE TEMP TABLE est AS
WITH {offs},
pk AS (  -- per gap slot, period and k: values found
  SELECT gs.meter_id, gs.slot, o.kind, o.k, count(*) AS c, sum(lk.v) AS sv
  FROM gs JOIN offs o ON true JOIN lk ON lk.meter_id = gs.meter_id AND lk.slot = gs.slot + o.off
  WHERE gs.method = 'profile' GROUP BY ALL),
cum AS (SELECT *, coalesce(sum(c) OVER (PARTITION BY meter_id, slot, kind ORDER BY k
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM pk),
per AS (SELECT meter_id, slot, kind, sum(sv) / sum(c) AS val FROM cum WHERE before < {need} GROUP BY ALL),
prof AS (SELECT meter_id, slot, coalesce(max(val) FILTER (WHERE kind = 'w'), max(val) FILTER (WHERE kind = 'd')) AS val
         FROM per GROUP BY ALL)
SELECT gs.meter_id, gs.slot, gs.a, gs.b, gs.len,
       CASE gs.method WHEN 'linear' THEN y0.v + (y1.v - y0.v) * (CAST(gs.slot - gs.a + 1 AS DOUBLE) / (gs.len + 1))
                      WHEN 'profile' THEN prof.val END AS v,
       CASE WHEN gs.method = 'linear' THEN 'linear' WHEN prof.val IS NOT NULL THEN 'profile' ELSE 'none' END AS method,
       inv.rule, inv.v AS raw
FROM gs
LEFT JOIN lk y0 ON gs.method = 'linear' AND y0.meter_id = gs.meter_id AND y0.slot = gs.a - 1
LEFT JOIN lk y1 ON gs.method = 'linear' AND y1.meter_id = gs.meter_id AND y1.slot = gs.b
LEFT JOIN prof ON prof.meter_id = gs.meter_id AND prof.slot = gs.slot
LEFT JOIN inv ON inv.meter_id = gs.meter_id AND inv.slot = gs.slot""".format(**c)
    # 8. The validated series: valid readings (edited when moved) and the estimates.
    s["write_validated"] = """
COPY (
  SELECT meter_id, to_timestamp(slot * {step} // 1000) AS ts, v AS kwh,
         CASE WHEN moved THEN 'edited' ELSE 'validated' END AS quality
  FROM r ANTI JOIN inv USING (meter_id, slot)
  UNION ALL
  SELECT meter_id, to_timestamp(slot * {step} // 1000), v, 'estimated' FROM est WHERE method <> 'none')
TO '{out}' (FORMAT parquet, COMPRESSION zstd)""".format(out=p("validated.parquet"), **c)
    s["write_edits"] = """
COPY (
  SELECT meter_id, to_timestamp(slot * {step} // 1000) AS ts, coalesce(rule, 'missing') AS rule,
         raw AS before, v AS after, CASE WHEN method = 'none' THEN 'missing' ELSE 'estimated' END AS quality,
         method
  FROM est
  UNION ALL
  SELECT meter_id, to_timestamp(slot * {step} // 1000), 'misaligned', v, v, 'edited', 'none'
  FROM ev ANTI JOIN inv USING (meter_id, slot) WHERE moved)
TO '{out}' (FORMAT parquet)""".format(out=p("edits.parquet"), **c)
    s["findings"] = """
CREATE OR REPLACE TEMP TABLE findings AS
SELECT meter_id, 'misaligned' AS rule, slot AS a, slot + 1 AS b, 1 AS intervals, 'edited' AS action FROM ev WHERE moved
UNION ALL
SELECT meter_id, rule, slot, slot + 1, 1, CASE WHEN ok THEN 'flagged' ELSE 'invalidated' END FROM ev WHERE rule IS NOT NULL
UNION ALL
SELECT meter_id, 'stuck', a, b, len, 'invalidated' FROM runs
WHERE v <> 0 AND ((len >= {stuck_min} AND abs(v) >= {stuck_kwh}) OR len >= {stuck_long})
UNION ALL
SELECT runs.meter_id, 'zero_run', a, b, len, 'flagged' FROM runs JOIN m USING (meter_id)
LEFT JOIN (SELECT meter_id, count(*) AS n_inv, count(*) FILTER (WHERE v > 0) AS pos_inv FROM inv GROUP BY 1) i USING (meter_id)
WHERE runs.v = 0 AND len >= {zero_min}
  AND (m.n - coalesce(n_inv, 0)) > 0
  AND (m.npos - coalesce(pos_inv, 0)) / (m.n - coalesce(n_inv, 0)) >= 0.5
UNION ALL
SELECT meter_id, 'not_estimated', any_value(a), any_value(b), any_value(len), 'flagged' FROM est
GROUP BY meter_id, a HAVING bool_or(method = 'none')""".format(**c)
    s["write_findings"] = """
COPY (SELECT meter_id, rule, to_timestamp(a * {step} // 1000) AS start_ts,
             to_timestamp(b * {step} // 1000) AS end_ts, intervals, action FROM findings)
TO '{out}' (FORMAT parquet)""".format(out=p("findings.parquet"), **c)
    # 9. Daily quality per local day of the lake's zone: the UTC offset per half hour (as
    #    gridmark's OffsetCache) gives each local day's slot range; expected = overlap with the
    #    meter's [first, last] slots, corrected by the few estimated / missing / edited slots.
    s["daily"] = """
CREATE OR REPLACE TEMP TABLE qd AS
WITH span AS (SELECT min(first_slot) AS lo, max(last_slot) AS hi FROM m),
hd AS (
  SELECT h, (h * 1800 + CAST(epoch(timezone('{tz}', to_timestamp(h * 1800))) AS BIGINT) - h * 1800) // 86400 AS day
  FROM span, range(span.lo // {per_half_hour}, span.hi // {per_half_hour} + 1) t(h)),
days AS (SELECT day, min(h) * {per_half_hour} AS lo, (max(h) + 1) * {per_half_hour} AS hi FROM hd GROUP BY day),
ex AS (
  SELECT m.meter_id, days.day, least(m.last_slot + 1, days.hi) - greatest(m.first_slot, days.lo) AS expected
  FROM m JOIN days ON days.lo <= m.last_slot AND days.hi > m.first_slot),
sm AS (
  SELECT meter_id, slot, CASE WHEN method = 'none' THEN 'missing' ELSE 'estimated' END AS q, rule IS NULL AS unread
  FROM est
  UNION ALL
  SELECT meter_id, slot, 'edited', false FROM ev ANTI JOIN inv USING (meter_id, slot) WHERE moved),
sd AS (
  SELECT meter_id, hd.day, count(*) FILTER (WHERE unread) AS unread,
         count(*) FILTER (WHERE q = 'estimated') AS estimated, count(*) FILTER (WHERE q = 'missing') AS missing,
         count(*) FILTER (WHERE q = 'edited') AS edited
  FROM sm JOIN hd ON hd.h = sm.slot // {per_half_hour} GROUP BY ALL),
j AS (
  SELECT ex.meter_id, ex.day, expected, expected - coalesce(unread, 0) AS read,
         expected - coalesce(estimated, 0) - coalesce(missing, 0) - coalesce(edited, 0) AS validated,
         coalesce(estimated, 0) AS estimated, coalesce(edited, 0) AS edited, coalesce(missing, 0) AS missing
  FROM ex LEFT JOIN sd USING (meter_id, day))
SELECT meter_id, DATE '1970-01-01' + CAST(day AS INTEGER) AS day, expected, read, validated, estimated,
       edited, missing, (validated + edited) >= {sufficient_share} * {per_day} AS sufficient
FROM j""".format(per_day=per_day, per_half_hour=1_800_000 // STEP_MS, **c)
    s["write_daily"] = "COPY qd TO '{out}' (FORMAT parquet)".format(out=p("quality_daily.parquet"))
    return s


# Statement order; `dedup` runs (and the passes after `slots` are redone) only on duplicates.
PLAN = ["slots", "counts", "top_n", "meters", "net", "window", "has_dups", "runs", "invalid", "gaps",
        "gap_slots", "lookups", "lookups_day", "estimate", "write_validated", "write_edits", "findings",
        "write_findings", "daily", "write_daily"]


def run_vee(con, s):
    """Runs the plan on an open connection; returns {statement: seconds}."""
    times, i = {}, 0
    plan = list(PLAN)
    while i < len(plan):
        name = plan[i]
        t1 = time.perf_counter()
        if name == "top_n":
            s["meters_now"] = s["meters"].replace("{top_n}", str(con.execute(s[name]).fetchone()[0]))
        elif name == "meters":
            con.execute(s["meters_now"])
        elif name == "has_dups":
            if con.execute(s[name]).fetchone()[0] and "dedup" not in times:
                con.execute(s["dedup"])
                times["dedup"] = 0.0
                plan[i + 1:i + 1] = PLAN[PLAN.index("counts"):PLAN.index("has_dups")]
        else:
            con.execute(s[name])
        times[name] = round(times.get(name, 0.0) + time.perf_counter() - t1, 3)
        i += 1
    return times


def summarize(con, out_dir):
    """Counts for the cross-check, read back from the written files (not timed)."""
    f = lambda name: os.path.join(out_dir, name).replace("'", "''")
    quality = {k: {"n": n, "kwh": kwh} for k, n, kwh in con.execute(
        f"SELECT quality, count(*), sum(kwh) FROM read_parquet('{f('validated.parquet')}') GROUP BY 1").fetchall()}
    missing = con.execute(f"SELECT count(*) FROM read_parquet('{f('edits.parquet')}') WHERE quality = 'missing'").fetchone()[0]
    quality["missing"] = {"n": missing, "kwh": None}
    findings = {k: [n, int(iv)] for k, n, iv in con.execute(
        f"SELECT rule, count(*), sum(intervals) FROM read_parquet('{f('findings.parquet')}') GROUP BY 1 ORDER BY 1").fetchall()}
    daily = con.execute(f"""SELECT count(*), sum(expected), sum(read), sum(validated), sum(estimated), sum(edited),
        sum(missing), count(*) FILTER (WHERE sufficient) FROM read_parquet('{f('quality_daily.parquet')}')""").fetchone()
    return {"readings_in": con.execute("SELECT count(*) FROM r").fetchone()[0], "quality": quality,
            "findings": findings,
            "daily": dict(zip(["days", "expected", "read", "validated", "estimated", "edited", "missing", "sufficient"],
                              [int(x or 0) for x in daily]))}


def run_duckdb(data, out_dir, reps=3, threads=2, verbose=False):
    import duckdb
    os.makedirs(out_dir, exist_ok=True)
    stmts = vee_sql(os.path.join(data, "readings.parquet"), os.path.join(data, "customers.csv"), out_dir)
    times, steps = [], []
    for rep in range(reps):
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET TimeZone = 'UTC'")
        t0 = time.perf_counter()
        step_t = run_vee(con, dict(stmts))
        times.append(time.perf_counter() - t0)
        steps.append(step_t)
        if verbose:
            print(f"duckdb rep {rep}: {times[-1]:.2f} s {step_t}", file=sys.stderr, flush=True)
        if rep < reps - 1:
            con.close()
    res = {"s": statistics.median(times), "all": [round(x, 3) for x in times],
           "steps_s": steps[sorted(range(reps), key=times.__getitem__)[reps // 2]],
           "threads": threads, "duckdb": duckdb.__version__, "out_dir": out_dir}
    res.update(summarize(con, out_dir))
    con.close()
    return res


def check_rules():
    """Warns when the binary's default rules are not the ones the SQL was written for."""
    cfg = json.loads(subprocess.run([GRIDMARK, "vee", "rules"], check=True, stdout=subprocess.PIPE, text=True).stdout)
    rules = {r["rule"]: r for r in cfg["rules"]}
    got = dict(reset_factor=rules.get("register_reset", {}).get("factor"),
               reset_min=rules.get("register_reset", {}).get("min_kwh"),
               spike_factor=rules.get("spike", {}).get("factor"), spike_min=rules.get("spike", {}).get("min_kwh"),
               cap_factor=rules.get("capacity", {}).get("factor"),
               stuck_min=rules.get("stuck", {}).get("min_intervals"), stuck_kwh=rules.get("stuck", {}).get("min_kwh"),
               stuck_long=rules.get("stuck", {}).get("long_intervals"),
               zero_min=rules.get("zero_run", {}).get("min_intervals"),
               linear_max_hours=cfg.get("linear_max_hours"), estimate_max_hours=cfg.get("estimate_max_hours"),
               profile_weeks=cfg.get("profile_weeks"), sufficient_share=cfg.get("sufficient_share"))
    diff = {k: (v, CFG[k]) for k, v in got.items() if v != CFG[k]}
    if diff or cfg.get("net_metering") != "auto" or rules.get("zero_run", {}).get("estimate") or \
            list(rules) != ["misaligned", "register_reset", "negative", "spike", "capacity", "stuck", "zero_run"]:
        print(f"WARNING: `gridmark vee rules` differs from the SQL's parameters: {diff} {cfg}", file=sys.stderr)
    return cfg


def run_gridmark(data, lake, reimport):
    if reimport or not os.path.exists(lake):
        shutil.rmtree(lake, ignore_errors=True)
        sh([GRIDMARK, "--data", lake, "import", "readings", os.path.join(data, "readings.csv")], stdout=subprocess.DEVNULL)
        sh([GRIDMARK, "--data", lake, "import", "meters", os.path.join(data, "customers.csv")], stdout=subprocess.DEVNULL)
        sh([GRIDMARK, "--data", lake, "import", "customers", os.path.join(data, "customers.csv")], stdout=subprocess.DEVNULL)
    times, rss = [], []
    for _ in range(3):
        t, out = timed(["/usr/bin/time", "-f", "%M", GRIDMARK, "--data", lake, "vee", "run", "--json"])
        times.append(t)
        rss.append(int(out.stderr.strip().splitlines()[-1]))
        report = json.loads(out.stdout)
    q = subprocess.run([GRIDMARK, "--data", lake, "sql",
                        "SELECT quality, count(*) AS n, sum(kwh) AS kwh FROM readings_validated GROUP BY 1",
                        "--format", "csv"], check=True, stdout=subprocess.PIPE, text=True).stdout
    quality = {}
    for line in q.strip().splitlines()[1:]:
        k, n, kwh = line.rsplit(",", 2)
        quality[k.strip('"')] = {"n": int(n), "kwh": float(kwh)}
    d = subprocess.run([GRIDMARK, "--data", lake, "sql", """SELECT count(*), sum(expected), sum(read),
        sum(validated), sum(estimated), sum(edited), sum(missing),
        sum(CASE WHEN sufficient THEN 1 ELSE 0 END) FROM quality_daily""", "--format", "csv"],
                       check=True, stdout=subprocess.PIPE, text=True).stdout
    daily = dict(zip(["days", "expected", "read", "validated", "estimated", "edited", "missing", "sufficient"],
                     [int(float(x or 0)) for x in d.strip().splitlines()[-1].split(",")]))
    return {"s": statistics.median(times), "all": [round(x, 3) for x in times], "peak_rss_mb": max(rss) / 1024,
            "readings_in": report["readings_in"], "readings_out": report["readings_out"],
            "estimated": report["estimated"], "edited": report["edited"], "left_missing": report["left_missing"],
            "findings": {k: list(v) for k, v in report["findings"].items()}, "quality": quality, "daily": daily,
            "internal_s": report.get("seconds")}


def inject_anomalies(src, dst, seed=11):
    """A copy of src's readings with deterministic VEE cases (see the module docstring)."""
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq, pyarrow.csv as pacsv, pyarrow.compute as pc
    os.makedirs(dst, exist_ok=True)
    shutil.copy(os.path.join(src, "customers.csv"), os.path.join(dst, "customers.csv"))
    tbl = pq.read_table(os.path.join(src, "readings.parquet"))
    mid = tbl["meter_id"].to_numpy(zero_copy_only=False)
    ts = tbl["ts"].to_numpy().copy()
    v = tbl["kwh"].to_numpy().copy()
    kw = {}
    with open(os.path.join(src, "customers.csv")) as f:
        for row in csv.DictReader(f):
            kw[row["meter_id"]] = float(row["contract_kw"])
    rng = np.random.default_rng(seed)
    starts = np.flatnonzero(np.r_[True, mid[1:] != mid[:-1]])
    ends = np.r_[starts[1:], len(mid)]
    keep = np.ones(len(v), bool)
    for a, b in zip(starts, ends):
        n = b - a
        def at(length):
            s = a + int(rng.integers(0, max(1, n - length)))
            return s, min(b, s + length)
        if rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 4))):
                s, e = at(int(rng.integers(1, 5))); keep[s:e] = False
        if rng.random() < 0.1:
            s, e = at(int(rng.integers(5, 41))); keep[s:e] = False
        if rng.random() < 0.05:
            s, e = at(int(rng.integers(100, 301))); keep[s:e] = False
        if rng.random() < 0.02:
            s, e = at(int(rng.integers(700, 901))); keep[s:e] = False
        if rng.random() < 0.1:
            s, _ = at(1); v[s] = round(float(v[a:b].max()) * 30 + 6, 3)
        if rng.random() < 0.03:
            s, _ = at(1); v[s] = -round(float(v[a:b].max()) * 40 + 60, 3)
        if rng.random() < 0.05:
            s, _ = at(1); v[s] = -0.123
        if rng.random() < 0.02:  # net-metered: exports at midday on several days
            for d in rng.choice(n // 96, size=min(5, n // 96), replace=False):
                v[a + d * 96 + 20: a + d * 96 + 26] = -0.05 * (1 + np.arange(6))
        if rng.random() < 0.08:
            s, e = at(int(rng.integers(8, 151))); v[s:e] = max(0.02, round(float(v[s]), 3))
        if rng.random() < 0.03:
            s, e = at(int(rng.integers(2, 8))); v[s:e] = 0.5
        if rng.random() < 0.05 and kw.get(mid[a], 0) > 0:  # over 3 x contract x 0.25 h, under the spike limit
            s, _ = at(1); v[s] = round(kw[mid[a]] * 0.75 * 1.05, 3)
        if rng.random() < 0.03:  # a reading one minute late: moved back to its slot (edited)
            s, _ = at(1); ts[s] = ts[s] + np.timedelta64(60, "s")
        if rng.random() < 0.05:
            s, e = at(int(rng.integers(40, 121))); v[s:e] = 0.0
    if len(v):
        v[0] = 1e6  # a spike at a meter's very first slot: a gap at the edge
    v = np.round(v, 3)  # as gen_ami.py: the CSV's %.3f and the Parquet doubles agree
    out = pa.table({"meter_id": tbl["meter_id"], "ts": pa.array(ts, type=tbl.schema.field("ts").type), "kwh": pa.array(v)}).filter(pa.array(keep))
    pq.write_table(out, os.path.join(dst, "readings.parquet"), compression="zstd")
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{TZ}'")
    con.execute(f"""COPY (SELECT meter_id, strftime(ts, '%Y-%m-%dT%H:%M:%S') || '+08:00' AS ts, printf('%.3f', kwh) AS kwh
                          FROM read_parquet('{os.path.join(dst, "readings.parquet")}'))
                    TO '{os.path.join(dst, "readings.csv")}' (HEADER, QUOTE '')""")
    print(f"injected anomalies: {len(v) - int(keep.sum())} readings dropped, {len(out)} kept -> {dst}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-out"))
    ap.add_argument("--skip-gridmark", action="store_true", help="run only the DuckDB side")
    ap.add_argument("--anomalies", action="store_true", help="validate a copy with injected VEE cases")
    ap.add_argument("--reimport", action="store_true", help="rebuild the gridmark lake even if it exists")
    ap.add_argument("--verbose", action="store_true", help="per-statement DuckDB times on stderr")
    a = ap.parse_args()
    if not a.skip_gridmark and not os.path.exists(GRIDMARK):
        sys.exit(f"error: {GRIDMARK} not found. Build it first with `cargo build --release` "
                 f"(in {ROOT}), or pass --skip-gridmark to run only the DuckDB side.")
    base = os.path.join(a.out, f"ami_{a.meters}x{a.days}")
    if not os.path.exists(os.path.join(base, "readings.parquet")):
        sh([PY, os.path.join(SHARED, "gen_ami.py"), base, "--meters", str(a.meters), "--days", str(a.days), "--parquet"])
    data = base
    if a.anomalies:
        data = base + "_vee"
        if not os.path.exists(os.path.join(data, "readings.csv")):
            inject_anomalies(base, data)
    res = {"experiment": "vee_bench", "meters": a.meters, "days": a.days, "anomalies": a.anomalies,
           "simplifications": SIMPLIFICATIONS}
    if not a.skip_gridmark:
        check_rules()
    res["duckdb"] = run_duckdb(data, os.path.join(a.out, "vee_duckdb" + ("_anomalies" if a.anomalies else "")),
                               verbose=a.verbose)
    if not a.skip_gridmark:
        lake = os.path.join(a.out, f"vee_lake_{a.meters}x{a.days}" + ("_anomalies" if a.anomalies else ""))
        res["gridmark"] = run_gridmark(data, lake, a.reimport)

    d, g = res["duckdb"], res.get("gridmark")
    dq = lambda k: d["quality"].get(k, {}).get("n", 0)
    dk = sum(x["kwh"] or 0.0 for q, x in d["quality"].items() if q != "missing")
    rows = [("VEE run (median of 3)", f"{g['s']:.3f} s" if g else "-", f"{d['s']:.3f} s")]
    rows.append(("readings in", g["readings_in"] if g else "-", d["readings_in"]))
    rows.append(("estimated intervals", g["estimated"] if g else "-", dq("estimated")))
    rows.append(("edited intervals", g["edited"] if g else "-", dq("edited")))
    rows.append(("left missing", g["left_missing"] if g else "-", dq("missing")))
    for q in ["validated", "estimated", "edited"]:
        gq = g["quality"].get(q, {"n": 0, "kwh": 0.0}) if g else None
        dqq = d["quality"].get(q, {"n": 0, "kwh": 0.0})
        rows.append((f"{q}: rows / kWh", f"{gq['n']} / {gq['kwh'] or 0:.3f}" if g else "-",
                     f"{dqq['n']} / {dqq['kwh'] or 0:.3f}"))
    gk = sum(x["kwh"] or 0.0 for x in g["quality"].values()) if g else None
    rows.append(("total validated kWh", f"{gk:.3f}" if g else "-", f"{dk:.3f}"))
    for rule in RULES:
        gf = g["findings"].get(rule, [0, 0]) if g else None
        df = d["findings"].get(rule, [0, 0])
        rows.append((f"findings {rule} (n / intervals)", f"{gf[0]} / {gf[1]}" if g else "-", f"{df[0]} / {df[1]}"))
    for k in ["days", "expected", "read", "validated", "estimated", "edited", "missing", "sufficient"]:
        rows.append((f"quality_daily {k}", g["daily"][k] if g else "-", d["daily"][k]))
    diffs = []
    if g:
        for name, gv, dv in rows[1:]:
            if str(gv) != str(dv):
                diffs.append(name)
        res["total_kwh_diff"] = gk - dk
        res["gridmark_over_duckdb"] = g["s"] / d["s"]
    res["differences"] = diffs
    print(f"\nVEE on {a.meters} meters x {a.days} days ({d['readings_in']} readings"
          f"{', injected anomalies' if a.anomalies else ''}); DuckDB {d['duckdb']}, threads={d['threads']}")
    print("\n| | gridmark | DuckDB SQL | match |")
    print("|---|---|---|---|")
    for i, (name, gv, dv) in enumerate(rows):
        match = "-" if not g or i == 0 else ("yes" if name not in diffs else "**no**")
        print(f"| {name} | {gv} | {dv} | {match} |")
    if g:
        print(f"\ngridmark / DuckDB time: {g['s'] / d['s']:.2f}x; total kWh difference {res['total_kwh_diff']:.6g}; "
              f"{len(diffs)} rows differ" + (f": {', '.join(diffs)}" if diffs else ""))
    print("DuckDB steps (s): " + ", ".join(f"{k} {v}" for k, v in d["steps_s"].items()))
    print("SQL simplifications: " + "; ".join(SIMPLIFICATIONS))
    print(json.dumps(res, separators=(",", ":")))


if __name__ == "__main__":
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        ensure_venv()
        os.execv(PY, [PY] + sys.argv)
    main()
