#!/usr/bin/env python3
"""The peer for `gridmark segment eval`: scikit-learn's KMeans (k-means++, n_init=10, Lloyd) on the
very matrix gridmark clustered (`--features-out` writes it after gridmark's winsorising and
z-scoring, so both tools see identical numbers).
Reports inertia, fit time, silhouette on a 5,000-point sample, the adjusted Rand index between two
seeds, and (with --labels, gridmark's `--labels-out`) the agreement with gridmark's segments.

Usage: bench/segment_peer.py FEATURES.csv --k 6 [--seed 42] [--labels LABELS.csv] [--json]
"""
import argparse, json, sys, time

from peer_venv import ensure_venv


def main():
    ensure_venv(__file__, ["numpy", "pandas", "sklearn"], ["numpy", "pandas", "scikit-learn"])
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    ap = argparse.ArgumentParser()
    ap.add_argument("features")
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--labels")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    df = pd.read_csv(a.features)
    ids = df["id"].astype(str).to_numpy()
    z = df.drop(columns=["id"]).to_numpy(dtype=float)

    t = time.perf_counter()
    km = KMeans(n_clusters=a.k, n_init=10, random_state=a.seed).fit(z)
    fit_seconds = time.perf_counter() - t
    other = KMeans(n_clusters=a.k, n_init=10, random_state=a.seed + 1).fit(z)
    out = {
        "peer": "scikit-learn KMeans(n_init=10)",
        "customers": int(z.shape[0]),
        "features": int(z.shape[1]),
        "k": a.k,
        "inertia": float(km.inertia_),
        "fit_seconds": fit_seconds,
        "iterations": int(km.n_iter_),
        "silhouette": float(silhouette_score(z, km.labels_, sample_size=min(5000, len(z)), random_state=a.seed)),
        "stability_ari": float(adjusted_rand_score(km.labels_, other.labels_)),
    }
    if a.labels:
        lab = pd.read_csv(a.labels, dtype={"id": str}).set_index("id")["segment"]
        g = lab.reindex(ids).to_numpy()
        out["ari_vs_gridmark"] = float(adjusted_rand_score(g, km.labels_))
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:<16} {v}")


if __name__ == "__main__":
    sys.exit(main())
