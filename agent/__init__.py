"""ringback: missed calls become text conversations."""

__version__ = "0.1.0"
