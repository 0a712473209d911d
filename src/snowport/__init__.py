"""Snowport: a self-hosted Snowpark Container Services."""

__version__ = "0.1.0"
