"""Huiyin desktop: the GUI (the only package importing Qt) and the ``huiyin`` command line."""
