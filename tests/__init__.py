"""Cross-cutting hardening tests: fuzzing, isolation, limits, faults, security, soak."""
