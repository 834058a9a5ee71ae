"""Array type aliases shared by the numerics of `analytics.core`, so that every module names
its arrays the same way (float counts and rates, whole-day integers, masks).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
