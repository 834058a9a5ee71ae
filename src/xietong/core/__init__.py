"""Shared building blocks that import no domain: errors, clock, pagination, principal."""
