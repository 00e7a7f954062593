"""Verify: check each statement against the passages it cites."""
