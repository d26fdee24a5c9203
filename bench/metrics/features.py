"""Wasserstein estimates in a feature space, independent of the training critic (POT).

w1_exact_feat: exact W1 (ot.emd2, Euclidean cost, uniform weights) between N generated and N real
               feature vectors; w1_sliced: the sliced W1 (ot.sliced_wasserstein_distance, p = 1) over
               a fixed number of random directions drawn from a fixed seed.
"""

from __future__ import annotations

import numpy as np
import ot

from bench.metrics.toy import w1_exact

SLICED_PROJECTIONS = 500
SLICED_SEED = 0


def w1_exact_features(x: np.ndarray, y: np.ndarray) -> float:
    return w1_exact(x, y)


def w1_sliced(x: np.ndarray, y: np.ndarray, n_projections: int = SLICED_PROJECTIONS, seed: int = SLICED_SEED) -> float:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(ot.sliced_wasserstein_distance(x, y, n_projections=n_projections, p=1, seed=seed))
