#!/usr/bin/env python3
"""The peer for `gridmark churn eval`: LightGBM (defaults, and 500 trees) and logistic regression
on the same customer table, with the same column reading as gridmark_jobs::tabular (numbers as
numbers, D/M/YYYY or YYYY-MM-DD dates as days since 1970, t/f as 0/1, other text as
frequency-rank codes, empty cells missing), 5-fold stratified CV with scikit-learn's
StratifiedKFold(shuffle=True, random_state=seed) (the same protocol; not the identical fold
assignment), metrics on the out-of-fold scores.

With --date-gaps it adds, like gridmark's default, the gap in days between every pair of date
columns; with --folds FILE (gridmark's `churn eval --folds-out`) it uses gridmark's very fold
assignment instead of its own StratifiedKFold.

Usage: bench/churn_peer.py FEATURES.csv LABELS.csv [--id id] [--target churn] [--seed 42]
       [--date-gaps] [--folds FOLDS.csv]
"""
import argparse, json, sys, time

from peer_venv import ensure_venv


def read(features, labels, id_col, target, date_gaps=False):
    import numpy as np
    import pandas as pd

    df = pd.read_csv(features, dtype=str, keep_default_na=False)
    lab = pd.read_csv(labels, dtype=str, keep_default_na=False)[[id_col, target]]
    df = df.drop(columns=[c for c in [target] if c in df.columns]).merge(lab, on=id_col)
    df = df[df[target] != ""]
    y = df[target].isin(["1", "1.0", "t", "true", "True", "yes"]).to_numpy()
    cols = {}
    dates = []
    for c in df.columns:
        if c in (id_col, target):
            continue
        s = df[c]
        present = s[s != ""]
        num = pd.to_numeric(present, errors="coerce")
        if num.notna().all():
            cols[c] = pd.to_numeric(s.replace("", np.nan), errors="coerce")
            continue
        d = pd.to_datetime(present, format="%d/%m/%Y", errors="coerce")
        d2 = pd.to_datetime(present, format="%Y-%m-%d", errors="coerce")
        if (d.notna() | d2.notna()).all():
            full = pd.to_datetime(s.replace("", None), format="%d/%m/%Y", errors="coerce")
            full = full.fillna(pd.to_datetime(s.replace("", None), format="%Y-%m-%d", errors="coerce"))
            cols[c] = (full - pd.Timestamp("1970-01-01")).dt.days.astype(float)
            dates.append(c)
            continue
        if present.isin(["t", "f", "true", "false", "True", "False"]).all():
            cols[c] = s.map({"t": 1.0, "true": 1.0, "True": 1.0, "f": 0.0, "false": 0.0, "False": 0.0})
            continue
        order = present.value_counts()
        order = sorted(order.items(), key=lambda kv: (-kv[1], kv[0]))
        code = {k: float(i) for i, (k, _) in enumerate(order)}
        cols[c] = s.map(code)
    if date_gaps:
        for i, a in enumerate(dates):
            for b in dates[i + 1:]:
                cols[f"{a}-{b}"] = cols[a] - cols[b]
    X = pd.DataFrame(cols).to_numpy(dtype=float)
    return X, y, df[id_col].to_numpy()


def main():
    ensure_venv(__file__, ["numpy", "pandas", "sklearn", "lightgbm"], ["numpy", "pandas", "scikit-learn", "lightgbm"])
    import numpy as np
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.metrics import roc_auc_score, average_precision_score
    from sklearn.model_selection import StratifiedKFold

    ap = argparse.ArgumentParser()
    ap.add_argument("features")
    ap.add_argument("labels")
    ap.add_argument("--id", default="id")
    ap.add_argument("--target", default="churn")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--date-gaps", action="store_true")
    ap.add_argument("--folds")
    a = ap.parse_args()
    X, y, ids = read(a.features, a.labels, a.id, a.target, a.date_gaps)
    if a.folds:
        import pandas as pd

        fold = pd.read_csv(a.folds, dtype={"id": str}).set_index("id")["fold"].reindex(ids).to_numpy()
        if np.isnan(fold.astype(float)).any():
            sys.exit(f"{a.folds}: some rows have no fold")
        splits = [(np.where(fold != f)[0], np.where(fold == f)[0]) for f in sorted(set(fold))]
    else:
        splits = list(StratifiedKFold(5, shuffle=True, random_state=a.seed).split(X, y))
    out = {"rows": int(len(y)), "positives": int(y.sum()), "features": int(X.shape[1]),
           "folds": "gridmark's" if a.folds else "StratifiedKFold(5, shuffle, seed)", "date_gaps": a.date_gaps}
    models = {
        "lightgbm-default": lambda: lgb.LGBMClassifier(verbose=-1),
        "lightgbm-500": lambda: lgb.LGBMClassifier(n_estimators=500, verbose=-1),
        "logistic": lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000)),
    }
    for name, make in models.items():
        t0 = time.perf_counter()
        oof = np.zeros(len(y))
        for tr, te in splits:
            m = make()
            m.fit(X[tr], y[tr])
            oof[te] = m.predict_proba(X[te])[:, 1]
        k = max(1, round(0.1 * len(y)))
        top = np.argsort(-oof, kind="stable")[:k]
        out[name] = {
            "auc": float(roc_auc_score(y, oof)),
            "pr_auc": float(average_precision_score(y, oof)),
            "lift_top10": float(y[top].mean() / y.mean()),
            "seconds": time.perf_counter() - t0,
        }
        print(name, out[name], file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
