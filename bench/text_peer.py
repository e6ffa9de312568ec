#!/usr/bin/env python3
"""The peer for gridmark's text classifier: scikit-learn's TfidfVectorizer(analyzer="char",
ngram_range=(1, 2)) and LogisticRegression(max_iter=1000) (L2, C=1, lbfgs) on a stratified 80/20
split, train_test_split(..., test_size=0.2, stratify=y, random_state=42).

The data is waimai_10k.csv (label,review; target `label`) or online_shopping_10_cats.csv[.gz]
(cat,label,review; target `cat`); a missing review is the empty text. With --split FILE
(`row,set` lines, row = 0-based data row, set train/test, as gridmark writes) it uses that very
split instead of its own. --model svm swaps in LinearSVC (LIBLINEAR's dual L2-loss SVM), the
algorithm of gridmark's default loss, as a cross-check.

Training time covers fitting the vectorizer, transforming the training texts and fitting the
classifier; prediction covers transforming and classifying the test texts.

Usage: bench/text_peer.py DATA.csv[.gz] [--target label|cat] [--split FILE] [--c 1.0]
       [--model lr|svm]
Prints one JSON line: accuracy, macro_f1, train_seconds, predict_docs_per_s.
"""
import argparse, json, sys, time

from peer_venv import ensure_venv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--target", default=None, help="label column (default: cat if present, else label)")
    ap.add_argument("--split", default=None)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--model", choices=["lr", "svm"], default="lr")
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    df = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    target = args.target or ("cat" if "cat" in df.columns else "label")
    texts = df["review"].to_numpy()
    y = df[target].to_numpy()
    rows = np.arange(len(df))
    if args.split:
        s = pd.read_csv(args.split)
        train = np.sort(s.loc[s["set"] == "train", "row"].to_numpy())
        test = np.sort(s.loc[s["set"] == "test", "row"].to_numpy())
    else:
        train, test = train_test_split(rows, test_size=0.2, stratify=y, random_state=42)

    t0 = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    xtr = vec.fit_transform(texts[train])
    if args.model == "lr":
        clf = LogisticRegression(C=args.c, max_iter=1000)
    else:
        clf = LinearSVC(C=args.c)
    clf.fit(xtr, y[train])
    train_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    pred = clf.predict(vec.transform(texts[test]))
    predict_seconds = time.perf_counter() - t0

    print(json.dumps({
        "data": args.data,
        "model": args.model,
        "c": args.c,
        "split": args.split or "sklearn train_test_split(random_state=42)",
        "train": int(len(train)),
        "test": int(len(test)),
        "features": int(xtr.shape[1]),
        "accuracy": round(float(accuracy_score(y[test], pred)), 4),
        "macro_f1": round(float(f1_score(y[test], pred, average="macro")), 4),
        "train_seconds": round(train_seconds, 3),
        "predict_docs_per_s": round(len(test) / predict_seconds),
    }))


if __name__ == "__main__":
    ensure_venv(__file__, ["numpy", "pandas", "sklearn"], ["numpy", "pandas", "scikit-learn"])
    main()
