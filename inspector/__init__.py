"""Dataset Inspector: exact per-split image statistics, normalization preview, leakage checks."""
__version__ = "0.1.0"
