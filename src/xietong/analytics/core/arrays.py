"""Array type aliases shared by the numerics of `analytics.core`, so that every module names
its arrays the same way (float counts and rates, whole-day integers, masks); and the freezing of
a published result's arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def freeze_arrays(result: object) -> None:
    """Make every array attribute of a frozen result read-only: frozen means the arrays too, so
    a caller cannot edit a published estimate in place."""
    for value in vars(result).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
