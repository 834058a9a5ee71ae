"""The twin: a synthetic city and outbreak that drive the real services for demos and benchmarks."""
