"""The lists the search and the alerts read: synonyms, the jieba dictionary, the alert lexicon, the gazetteer.

Each list is stored whole (``replace``) or merged into what the base has; an unchanged list writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import models as m
from kb.actor import Actor
from kb.convert import split_list
from kb.dto import Changes, ListCounts
from kb.errors import ValidationError
from kb.permissions import require
from kb.services.store import Store, UnitOfWork

ALERT_TERM_KEY = ("kind", "pattern", "polarity")


def _alert_rows(s: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    term = m.AlertTermRow  # plain rows, not ORM objects: thousands of example lines
    terms = [{"kind": kind, "pattern": pattern, "polarity": polarity, "note": note}
             for kind, pattern, polarity, note in s.execute(
                 select(term.kind, term.pattern, term.polarity, term.note).order_by(term.id))]
    kinds = [{"kind": k.kind, "label": k.label, "transfer_to": k.transfer_to, "script": k.script,
              "severity": k.severity} for k in s.scalars(select(m.AlertKindRow))]
    return terms, kinds


def _overlay(base: list[dict[str, Any]], given: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """``base`` with ``given`` laid over it by ``key``: a given record replaces its namesake, new ones follow."""
    out = {tuple(r.get(k) for k in key): r for r in base}
    for r in given:
        out[tuple(r.get(k) for k in key)] = r
    return list(out.values())


def _sync_list(s: Session, model: type[m.Base], key: tuple[str, ...], records: list[dict[str, Any]], *,
               replace: bool) -> ListCounts:
    """Make ``model``'s table hold ``records`` (the last of several with one ``key`` wins): new rows are
    inserted, changed ones updated, unchanged ones not written; the other rows stay, or go with ``replace``."""
    wanted = {tuple(r[k] for k in key): r for r in records}
    existing = {tuple(getattr(row, k) for k in key): row for row in s.scalars(select(model))}
    created = updated = unchanged = 0
    for ident, rec in wanted.items():
        row = existing.pop(ident, None)
        if row is None:
            s.add(model(**rec))
            created += 1
        elif all(getattr(row, f) == v for f, v in rec.items()):
            unchanged += 1
        else:
            for f, v in rec.items():
                setattr(row, f, v)
            updated += 1
    deleted = 0
    if replace:
        for row in existing.values():
            s.delete(row)
            deleted += 1
    return ListCounts(created=created, updated=updated, unchanged=unchanged, deleted=deleted)


def _audit_list(uow: UnitOfWork, actor: Actor, kind: str, counts: ListCounts, *, replace: bool) -> None:
    if counts.written:  # an unchanged list writes nothing, not even an audit line
        uow.audit(actor, "replace" if replace else "merge", kind,
                  counts.created + counts.updated + counts.unchanged, asdict(counts))


def _log_list(uow: UnitOfWork, kind: str, counts: ListCounts) -> None:
    """The change-log row of a list (object id 0: the kind says which list); an unchanged list logs nothing."""
    if counts.written:
        uow.log_change(kind, 0, "replace")


def apply_places(uow: UnitOfWork, records: Iterable[Mapping[str, Any]], *, actor: Actor, replace: bool
                 ) -> ListCounts:
    """Gazetteer records into ``uow``, by (district, street): new places are added, changed aliases updated,
    unchanged places not written; places the records do not name stay, or are deleted with ``replace``."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        district = str(r.get("district") or "").strip()
        if not district:
            raise ValidationError("district: 不能为空")
        street = str(r.get("street") or "").strip()
        rows[(district, street)] = {"district": district, "street": street,
                                    "aliases": list(split_list(r.get("aliases")))}
    counts = _sync_list(uow.s, m.Place, ("district", "street"), list(rows.values()), replace=replace)
    _audit_list(uow, actor, "gazetteer", counts, replace=replace)
    _log_list(uow, "place", counts)
    return counts


class LexiconService:
    """``kb.lexicons``: synonyms, dictionary words, the alert lexicon and the gazetteer."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def synonyms(self) -> dict[str, list[str]]:
        """colloquial term → official terms (applied by the search at query time)."""
        out: dict[str, list[str]] = {}
        with self.store.session() as s:
            for term, canonical in s.execute(select(m.Synonym.term, m.Synonym.canonical).order_by(m.Synonym.id)):
                out.setdefault(term, []).append(canonical)
        return out

    def set_synonyms(self, pairs: Iterable[tuple[str, str]], *, actor: Actor, replace: bool = True) -> Changes:
        """Store synonym pairs: with ``replace`` exactly these, else these added to the base's."""
        require(actor, "lexicon.edit")
        clean = [{"term": a.strip(), "canonical": b.strip()} for a, b in pairs if a.strip() and b.strip()]
        with self.store.unit() as uow:
            counts = _sync_list(uow.s, m.Synonym, ("term", "canonical"), clean, replace=replace)
            _audit_list(uow, actor, "synonyms", counts, replace=replace)
            _log_list(uow, "synonym", counts)
        return Changes(lexicon=True, revision=self.store.revision())

    def dict_words(self) -> list[tuple[str, int | None, str]]:
        with self.store.session() as s:
            return [(w.word, w.freq, w.pos) for w in s.scalars(select(m.DictWord).order_by(m.DictWord.id))]

    def set_dict_words(self, words: Iterable[tuple[str, int | None, str]], *, actor: Actor,
                       replace: bool = True) -> Changes:
        """Store dictionary words: with ``replace`` exactly these, else these added to (or updating) the base's."""
        require(actor, "lexicon.edit")
        clean = [{"word": w.strip(), "freq": f, "pos": p} for w, f, p in words if w.strip()]
        with self.store.unit() as uow:
            counts = _sync_list(uow.s, m.DictWord, ("word",), clean, replace=replace)
            _audit_list(uow, actor, "dictionary", counts, replace=replace)
            _log_list(uow, "dictionary", counts)
        return Changes(dictionary=True, revision=self.store.revision())

    def alert_records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(terms, kinds) of the alert lexicon as plain records."""
        with self.store.session() as s:
            return _alert_rows(s)

    def set_alert_records(self, terms: Iterable[Mapping[str, Any]], kinds: Iterable[Mapping[str, Any]], *,
                          actor: Actor, replace: bool = True) -> Changes:
        """Store the alert lexicon: with ``replace`` exactly these lines and kinds, else these laid over the
        base's (a line is known by kind, pattern and polarity, a kind by its code). The result is checked whole."""
        from kb.alerts import AlertLexicon

        require(actor, "lexicon.edit")
        new_terms, new_kinds = [dict(t) for t in terms], [dict(k) for k in kinds]
        with self.store.unit() as uow:
            if not replace:
                old_terms, old_kinds = _alert_rows(uow.s)
                new_terms = _overlay(old_terms, new_terms, ALERT_TERM_KEY)
                new_kinds = _overlay(old_kinds, new_kinds, ("kind",))
            lexicon = AlertLexicon.from_records(new_terms, new_kinds)  # validates every pattern
            kind_rows = [{"kind": k.kind, "label": k.label, "transfer_to": k.transfer_to, "script": k.script,
                          "severity": k.severity} for k in lexicon.kinds]
            term_rows = [{"kind": t.kind, "pattern": t.pattern, "polarity": t.polarity, "note": t.note}
                         for t in lexicon.terms]
            counts = _sync_list(uow.s, m.AlertKindRow, ("kind",), kind_rows, replace=True)
            counts += _sync_list(uow.s, m.AlertTermRow, ALERT_TERM_KEY, term_rows, replace=True)
            _audit_list(uow, actor, "alert_lexicon", counts, replace=replace)
            _log_list(uow, "alert", counts)
        return Changes(lexicon=True, revision=self.store.revision())

    def places(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return [{"district": p.district, "street": p.street, "aliases": list(p.aliases or ())}
                    for p in s.scalars(select(m.Place).order_by(m.Place.id))]

    def set_places(self, records: Iterable[Mapping[str, Any]], *, actor: Actor, replace: bool = True) -> Changes:
        """Store gazetteer records: with ``replace`` exactly these, else these added to (or updating) the base's."""
        require(actor, "lexicon.edit")
        with self.store.unit() as uow:
            apply_places(uow, records, actor=actor, replace=replace)
        return Changes(rules=True, places=True, revision=self.store.revision())
