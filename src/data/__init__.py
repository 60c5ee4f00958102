"""Data sets: loading, MNIST's files, row views."""
