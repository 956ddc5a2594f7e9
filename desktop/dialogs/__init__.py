"""Dialogs (never shown during a call)."""
