"""Points and lines: cases, clusters, transmission chains, close contacts and quarantine."""
