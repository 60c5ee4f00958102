"""The write layer."""
