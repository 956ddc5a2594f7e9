"""Huiyin knowledge base: domain model and storage (no Qt)."""

__version__ = "0.1.0"
