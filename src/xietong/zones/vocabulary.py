"""The words of a risk area's life that the zones service offers to pages, commands and other
domains: which statuses are open, locked or any at all, and how an area came to be proposed."""

from __future__ import annotations

# Life cycle: proposed → active (approved) | rejected; active → lifting_proposed → lifted
# (or back to active when the lifting is rejected or a new infection withdraws it).
OPEN_STATUSES = ("proposed", "active", "lifting_proposed")
LOCKED_STATUSES = ("active", "lifting_proposed")
# Waiting on a decision: an approval, or a lifting.
AWAITING_STATUSES = ("proposed", "lifting_proposed")
ALL_STATUSES = ("proposed", "rejected", "active", "lifting_proposed", "lifted")

# How an area came to be proposed: the what-if re-derives only the automatic ones.
ORIGINS = ("surface_case", "user", "designation")
