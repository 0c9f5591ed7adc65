"""Example apps and the helpers they share with the tests."""
