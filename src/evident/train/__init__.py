"""Training for evident's own models (needs the `train` extra: torch, CPU build).

Nothing here is imported at run time: the shipped runtime reads the exported weights
with numpy (evident.bert). `evident models train` is the one command that rebuilds them.
"""
