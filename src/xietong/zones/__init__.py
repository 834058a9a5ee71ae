"""Zones: high-risk areas by building that lock fast and unlock fast by policy (快封快解)."""
