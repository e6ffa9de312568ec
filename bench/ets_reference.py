#!/usr/bin/env python3
"""Reference values for gridmark's ETS (crates/gridmark-analytics/src/forecast/ets.rs) from
statsforecast's ETS on the same deterministic series; the Rust test
`ets::tests::matches_statsforecast_on_a_reference_series` holds the numbers this prints.

Series (n = 140): y_t = 50 + 0.3 t + 8 sin(2πt/7) + e_t, e_t = (u_t − 0.5) · 4 with
u from the 64-bit LCG x ← x·6364136223846793005 + 1442695040888963407 (x₀ = 7), u = (x >> 11) / 2⁵³.

Usage: bench/.venv/bin/python bench/ets_reference.py
"""
import math
import numpy as np
from statsforecast.models import AutoETS

x = 7
ys = []
for t in range(140):
    x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    u = (x >> 11) / float(1 << 53)
    ys.append(50 + 0.3 * t + 8 * math.sin(2 * math.pi * t / 7) + (u - 0.5) * 4)
y = np.array(ys)
for model in ["ANN", "AAN", "ANA", "AAA", "ZZZ"]:
    m = AutoETS(season_length=7, model=model)
    if model == "ZZZ":
        # Additive forms only, as gridmark fits.
        m = AutoETS(season_length=7, model="AZZ")
    f = m.fit(y).predict(h=14)["mean"]
    print(model, [round(float(v), 3) for v in f], m.model_["method"] if hasattr(m, "model_") else "")
