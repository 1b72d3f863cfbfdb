"""Every test gets the one test kit's fixtures (testing/fixtures.py)."""

pytest_plugins = ["testing.fixtures"]
