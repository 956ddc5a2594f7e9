"""Errors of the search index.

Named ``SearchIndexError`` so it does not shadow the builtin ``IndexError``.
"""

from __future__ import annotations


class SearchIndexError(Exception):
    """Base of every search-index error."""


class IndexCorrupt(SearchIndexError):
    """The index on disk cannot be read; the caller should offer (or start) a rebuild."""
