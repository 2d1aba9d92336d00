"""Root pytest configuration: the shared fixtures (environment defaults: testsupport/pytest_env.py)."""

pytest_plugins = ["testsupport.users", "testsupport.live"]
