#!/usr/bin/env python3
"""The published peer for gridmark's theft detector (crates/gridmark-analytics/src/theft):
LightGBM on each customer's series divided by its own mean plus summary statistics, and an
IsolationForest as the unsupervised peer, on an SGCC-layout CSV.

Input: `CONS_NO,FLAG,<date>,<date>,...` (SGCC) or `CONS_NO,FLAG,ATTACK,<date>,...` (the layout
the gridmark theft harness writes after injecting attacks; ATTACK is h1..h6 or empty). Empty
or non-numeric readings are missing.

Protocol (same definitions as gridmark_analytics::metrics):
  * StratifiedKFold(5, shuffle=True, random_state=seed);
  * LGBMClassifier(n_estimators=300, learning_rate=0.05), other parameters LightGBM defaults;
  * IsolationForest(random_state=seed), fitted on the training folds without labels;
  * ROC-AUC; precision at the 10 % budget = positives among the k = max(1, round(0.1 n))
    top-scored rows of the fold (stable sort: ties keep row order); MAP@100 = sum over
    positives in the top 100 of precision at their rank / min(100, positives);
  * fold averages, plus per-attack AUC on out-of-fold scores when ATTACK is present.

Runs in a virtual environment at bench/.venv (created, and numpy, scikit-learn, lightgbm
installed, when missing).

Usage: bench/theft_peer.py FILE.csv [--seed 42] [--folds 5]
"""
import argparse, json, os, subprocess, sys, time

from peer_venv import ensure_venv as _ensure_venv


def ensure_venv():
    """Re-executes this script inside bench/.venv with the packages it needs."""
    _ensure_venv(__file__, ["numpy", "sklearn", "lightgbm"], ["numpy", "scikit-learn", "lightgbm"])


def read_sgcc(path):
    import csv
    import numpy as np

    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        has_attack = len(header) > 2 and header[2].strip().upper() == "ATTACK"
        first = 3 if has_attack else 2
        ids, flags, attacks, rows = [], [], [], []
        for rec in r:
            ids.append(rec[0])
            flags.append(int(float(rec[1])))
            attacks.append(rec[2].strip() if has_attack else "")
            vals = []
            for v in rec[first:]:
                try:
                    vals.append(float(v))
                except ValueError:
                    vals.append(np.nan)
            rows.append(vals)
    return ids, np.array(flags, dtype=int), attacks, np.array(rows, dtype=float)


def features(x):
    """Series / own mean (NaN-safe) + summary statistics, as in the published baseline."""
    import numpy as np

    with np.errstate(all="ignore"):
        mean = np.nanmean(x, axis=1)
        norm = x / np.where(mean > 0, mean, np.nan)[:, None]
        stats = np.column_stack([
            mean,
            np.nanstd(x, axis=1),
            np.nanmin(x, axis=1),
            np.nanmax(x, axis=1),
            np.nanmedian(x, axis=1),
            *[np.nanquantile(x, q, axis=1) for q in (0.05, 0.25, 0.75, 0.95)],
            np.nanmean(x == 0, axis=1),
        ])
    return np.column_stack([norm, stats])


def precision_at(scores, y, frac=0.10):
    import numpy as np

    k = max(1, int(round(frac * len(y))))
    order = np.argsort(-scores, kind="stable")
    return float(y[order[:k]].mean())


def map_at(scores, y, k=100):
    import numpy as np

    order = np.argsort(-scores, kind="stable")
    hits, total = 0, 0.0
    for i, r in enumerate(order[:k]):
        if y[r]:
            hits += 1
            total += hits / (i + 1)
    return total / min(k, int(y.sum()))


def main():
    ensure_venv()
    import numpy as np
    import lightgbm as lgb
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--folds", type=int, default=5)
    a = ap.parse_args()

    t0 = time.perf_counter()
    ids, y, attacks, x = read_sgcc(a.file)
    f = features(x)
    f[~np.isfinite(f)] = np.nan
    print(f"rows={len(y)} days={x.shape[1]} positives={int(y.sum())} features={f.shape[1]}", file=sys.stderr)
    skf = StratifiedKFold(n_splits=a.folds, shuffle=True, random_state=a.seed)
    res = {"lgbm": [], "iforest": []}
    oof = {"lgbm": np.full(len(y), np.nan), "iforest": np.full(len(y), np.nan)}
    for fold, (tr, te) in enumerate(skf.split(f, y)):
        clf = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, random_state=a.seed, verbose=-1)
        clf.fit(f[tr], y[tr])
        s = clf.predict_proba(f[te])[:, 1]
        fill = np.nan_to_num(f, nan=0.0)
        iso = IsolationForest(random_state=a.seed).fit(fill[tr])
        u = -iso.score_samples(fill[te])
        for name, sc in (("lgbm", s), ("iforest", u)):
            oof[name][te] = sc
            res[name].append((roc_auc_score(y[te], sc), precision_at(sc, y[te]), map_at(sc, y[te])))
    out = {"experiment": "theft_peer", "file": os.path.basename(a.file), "rows": len(y),
           "seed": a.seed, "folds": a.folds, "seconds": round(time.perf_counter() - t0, 2)}
    for name, rows in res.items():
        m = np.array(rows).mean(axis=0)
        out[name] = {"auc": round(m[0], 4), "precision_at_10pct": round(m[1], 4), "map_at_100": round(m[2], 4)}
        print(f"{name:8s} auc={m[0]:.4f} p@10%={m[1]:.4f} map@100={m[2]:.4f} (fold averages)")
    if any(attacks):
        honest = np.array([yy == 0 for yy in y])
        per = {}
        for att in sorted({t for t in attacks if t}):
            mask = np.array([t == att for t in attacks])
            sel = mask | honest
            per[att] = {name: round(float(roc_auc_score(mask[sel], oof[name][sel])), 4) for name in oof}
        out["per_attack_auc"] = per
        print("per-attack auc (lgbm/iforest): " + " ".join(f"{k}={v['lgbm']:.3f}/{v['iforest']:.3f}" for k, v in per.items()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
