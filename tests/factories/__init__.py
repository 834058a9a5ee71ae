"""Per-domain factories: build the data a test needs, in the test's transaction."""
