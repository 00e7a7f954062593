"""Compose: question analysis, article assembly and rendering."""
