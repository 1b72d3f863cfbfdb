"""Every test gets the one test kit's fixtures (testing/fixtures.py)."""

pytest_plugins = ["testing.fixtures"]


def pytest_collection_modifyitems(items):
    # The slowest tests first: in a parallel run (pytest -n) they start at once on their own
    # workers instead of being dealt out last and running alone while the other workers idle.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
