"""Benchmarks (`cardworld bench ...`): speed is shown here, never by timing asserts in tests."""
