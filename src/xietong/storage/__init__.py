"""Storage: declarative base, engine factory, units of work, bulk loads and migrations."""
