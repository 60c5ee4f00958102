"""The compute layer."""
