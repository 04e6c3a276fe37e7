"""The project's version: one number for the distribution and its three commands (pyproject reads it from here)."""

__version__ = "0.1.0"
