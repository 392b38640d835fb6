"""The pure-Python backend: the reference, which holds the docs."""
