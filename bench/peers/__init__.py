"""Peers: what a user would run instead of Entities, started by the bench on loopback against
the same fake model server (issue 19). Each lives in its own virtual environment under
.local/peers/<name>, installed by bench/peers/install_<name>.sh, never in Entities' venv."""
