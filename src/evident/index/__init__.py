"""Lexical and vector indexes, hybrid fusion and `retrieve()`."""
