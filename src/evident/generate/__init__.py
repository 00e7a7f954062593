"""Language-model backends (generators) and a local model server for tests and benchmarks."""
