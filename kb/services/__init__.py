"""The area services behind :class:`kb.service.KnowledgeBase`, sharing one :class:`~kb.services.store.Store`.

Each area module has its service class (the public methods: one unit of work each, an ``actor`` on every
write) and the row-level ``upsert_*`` functions that write inside a unit of work — internal to ``kb``:
the services and the importer (:mod:`kb.exchange`) use them.
"""
