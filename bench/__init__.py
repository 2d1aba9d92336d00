"""Measured speed: what Entities adds on top of the model, and how far one machine goes.

`python -m bench` starts a fake model server, a thin proxy and Entities on loopback and
measures them side by side (docs/performance.md has the results and how to read them).
"""
