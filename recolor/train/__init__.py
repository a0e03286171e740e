"""Training code for the learned colorization models (run with `python -m recolor train ...`)."""
