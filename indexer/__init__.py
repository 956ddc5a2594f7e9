"""Full-text search over the knowledge base (whoosh + jieba), free of Qt and SQLAlchemy.

Public API: :class:`indexer.index.SearchIndex`, :class:`indexer.hits.SearchHit`,
:class:`indexer.hits.IndexStatus`, :mod:`indexer.analysis` (``load_jieba``,
``start_background_load``, ``set_cache_dir``) and :mod:`indexer.errors`.
"""
