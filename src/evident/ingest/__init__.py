"""Ingest: a reader per format, normalisation, chunking and the batch pipeline."""
