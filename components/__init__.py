"""Reusable component resources: they take plain typed args and know no environment."""
