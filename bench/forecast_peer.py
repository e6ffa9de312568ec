#!/usr/bin/env python3
"""Peers for gridmark's forecasting protocols (crates/gridmark-analytics/src/forecast/protocols.rs),
run on exactly the rows gridmark wrote with `forecast eval … --peer-out FILE`.

day-ahead FILE (from `gridmark forecast eval --protocol day-ahead --peer-out FILE`):
  the GBDT feature table, one row per (day start `origin`, half-hour `t`), with the calendar and
  temperature covariates, the steps ahead, the last value and the lag-48/lag-336 values (all
  relative to the previous day's mean `level`), the target `target_rel` and the `actual`. Rows
  with test=1 are the test days. As gridmark does, LightGBM is refitted on the first test day
  and every 28 days after, on every row whose 48 targets were known before that day
  (origin + 48 <= day start), and predicts target_rel × level. Reported: MAPE, MAE, RMSE over
  the test rows, and the wall time. Parameters: LightGBM defaults (100 trees), and the same
  500 trees / 63 leaves / learning rate 0.05 gridmark uses.

households FILE (from `gridmark forecast eval --protocol households --peer-out FILE`):
  long CSV unique_id,ds,y, one gap-free daily series per household. statsforecast AutoETS
  (season_length=7) forecasts each series' last 14 days from the rest (n_jobs = 2 cores);
  MASE = test MAE / in-sample MAE of the 7-day seasonal naive, averaged over households (as
  gridmark computes it). Also reported: SeasonalNaive(7) from statsforecast for a check.

Runs in the virtual environment bench/.venv (numpy, lightgbm, statsforecast installed when
missing).

Usage: bench/forecast_peer.py day-ahead FILE | households FILE [--horizon 14]
"""
import argparse, json, os, subprocess, sys, time

from peer_venv import ensure_venv as _ensure_venv


def ensure_venv():
    """Re-executes this script inside bench/.venv with the packages it needs."""
    _ensure_venv(__file__, ["numpy", "pandas", "sklearn", "lightgbm", "statsforecast"], ["numpy", "pandas", "scikit-learn", "lightgbm", "statsforecast"])


def day_ahead(path):
    import numpy as np
    import pandas as pd
    import lightgbm as lgb

    df = pd.read_csv(path)
    feats = [c for c in df.columns if c not in ("origin", "t", "target_rel", "level", "actual", "test")]
    test_origins = sorted(df.loc[df.test == 1, "origin"].unique())
    out = {}
    for name, params in [
        ("lightgbm-default", dict(verbose=-1)),
        ("lightgbm-500", dict(n_estimators=500, num_leaves=63, learning_rate=0.05, min_child_samples=20, verbose=-1)),
    ]:
        t0 = time.perf_counter()
        preds, actual = [], []
        model = None
        for k, o in enumerate(test_origins):
            if k % 28 == 0:
                train = df[df.origin + 48 <= o]
                model = lgb.LGBMRegressor(**params)
                model.fit(train[feats].to_numpy(), train.target_rel.to_numpy())
            rows = df[df.origin == o]
            preds.append(model.predict(rows[feats].to_numpy()) * rows.level.to_numpy())
            actual.append(rows.actual.to_numpy())
        p, a = np.concatenate(preds), np.concatenate(actual)
        e = np.abs(a - p)
        out[name] = {
            "mape": float(100 * np.mean(e / np.abs(a))),
            "mae": float(np.mean(e)),
            "rmse": float(np.sqrt(np.mean(e ** 2))),
            "n": int(len(a)),
            "seconds": time.perf_counter() - t0,
        }
        print(name, out[name], file=sys.stderr, flush=True)
    out["features"] = feats
    out["test_days"] = len(test_origins)
    print(json.dumps(out, indent=2))


def households(path, horizon):
    import numpy as np
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    df = pd.read_csv(path, parse_dates=["ds"])
    df = df.sort_values(["unique_id", "ds"])
    test = df.groupby("unique_id").tail(horizon)
    train = df.drop(test.index)
    out = {"households": int(df.unique_id.nunique())}
    # Warm numba's compilation on one series so the timing is of forecasting, not compiling.
    one = train[train.unique_id == train.unique_id.iloc[0]]
    StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=1).forecast(df=one, h=horizon)
    scale = train.groupby("unique_id").y.apply(lambda y: np.mean(np.abs(y.to_numpy()[7:] - y.to_numpy()[:-7])))
    for name, model in [("AutoETS", AutoETS(season_length=7)), ("SeasonalNaive", SeasonalNaive(season_length=7))]:
        t0 = time.perf_counter()
        fc = StatsForecast(models=[model], freq="D", n_jobs=2).forecast(df=train, h=horizon)
        secs = time.perf_counter() - t0
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
        m = test.merge(fc[["unique_id", "ds", col]], on=["unique_id", "ds"], how="left")
        m["ae"] = (m.y - m[col]).abs()
        per = m.groupby("unique_id").ae.mean() / scale
        per = per[np.isfinite(per)]
        out[name] = {"mase": float(per.mean()), "mae": float(m.ae.mean()), "seconds": secs, "series_scored": int(len(per))}
        print(name, out[name], file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol", choices=["day-ahead", "households"])
    ap.add_argument("file")
    ap.add_argument("--horizon", type=int, default=14)
    a = ap.parse_args()
    if a.protocol == "day-ahead":
        day_ahead(a.file)
    else:
        households(a.file, a.horizon)


if __name__ == "__main__":
    main()
