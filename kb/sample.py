"""Load the sample knowledge base shipped in ``resources/sample`` (``huiyin init``, first start), and
check that a base has the safety lexicon that ships.

Everything goes through the same import code as ``huiyin import``. Set-up (:func:`set_up`) runs the
schema upgrade and the initial load in one transaction under the set-up lock: whole or not at all,
and a second seat starting at the same moment waits and then finds the work done.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kb import db
from kb import models as m
from kb.actor import Actor
from kb.exchange import ImportResult, import_file
from kb.resources import resource_path
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

SAMPLE_DIR = "sample"
# Order matters: entries and rules refer to departments.
SAMPLE_FILES = (("departments", "departments.jsonl"), ("entries", "entries.jsonl"),
                ("scripts", "scripts.jsonl"), ("rules", "routing_rules.jsonl"),
                ("bulletins", "bulletins.jsonl"))
# A shipped alert kind whose stored trigger lines fall below this share of the shipped ones is
# "thin": editors prune bad lines, but a kind that lost most of them no longer catches its calls.
MIN_TRIGGER_SHARE = 0.5
ANY_KIND = "*"
SETUP_ACTOR = Actor.system("init")  # who set-up's rows are recorded as


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_synonyms(path: Path) -> list[tuple[str, str]]:
    """``colloquial<TAB>official`` lines; '#' starts a comment."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def load_lexicons(kb: KnowledgeBase, *, actor: Actor = SETUP_ACTOR) -> None:
    """Synonyms, alert lexicon and gazetteer from the sample folder, merged: what editors added stays."""
    base = resource_path(SAMPLE_DIR)
    kb.lexicons.set_synonyms(read_synonyms(base / "synonyms.tsv"), actor=actor, replace=False)
    kb.lexicons.set_alert_records(read_jsonl(base / "alert_terms.jsonl"), read_jsonl(base / "alert_kinds.jsonl"),
                                  actor=actor, replace=False)
    kb.lexicons.set_places(read_jsonl(base / "gazetteer.jsonl"), actor=actor, replace=False)


def load_sample(kb: KnowledgeBase, *, actor: Actor = SETUP_ACTOR) -> list[ImportResult]:
    """Import the whole sample knowledge base; safe to run again (updates by external_id)."""
    base = resource_path(SAMPLE_DIR)
    results = [import_file(kb, base / name, kind=kind, actor=actor) for kind, name in SAMPLE_FILES]
    load_lexicons(kb, actor=actor)
    log.info("sample knowledge base loaded: %s", {r.kind: r.rows for r in results})
    return results


# ------------------------------------------------------------------ is the safety lexicon there?
@dataclass(frozen=True)
class ShippedLexicon:
    """What ships, in counts: alert kinds (code → label) and their trigger lines; gazetteer places."""

    labels: dict[str, str]
    triggers: dict[str, int]
    places: int


@cache
def shipped_lexicon() -> ShippedLexicon:
    base = resource_path(SAMPLE_DIR)
    labels = {k["kind"]: str(k.get("label") or k["kind"]) for k in read_jsonl(base / "alert_kinds.jsonl")}
    triggers = Counter(t["kind"] for t in read_jsonl(base / "alert_terms.jsonl") if t.get("polarity") == "trigger")
    with (base / "gazetteer.jsonl").open(encoding="utf-8") as fh:
        places = sum(1 for line in fh if line.strip())
    return ShippedLexicon(labels, dict(triggers), places)


@dataclass(frozen=True)
class LexiconCheck:
    """The stored alert lexicon compared with what ships (and how big the gazetteer and synonym lists are).

    Complete (``ok``) means: every shipped alert kind is stored and has trigger lines, and none has
    fewer than MIN_TRIGGER_SHARE of the shipped trigger lines. Kinds and lines a center added itself
    are welcome and never count against it. The gazetteer and synonyms are the city's own business
    (the shipped ones are Beijing's): an empty one is mentioned, not a safety problem.
    """

    missing_kinds: tuple[str, ...] = ()  # shipped kinds not stored, or stored without a trigger line
    thin_kinds: tuple[tuple[str, int, int], ...] = ()  # (kind, stored triggers, shipped triggers)
    alert_kinds: int = 0  # stored alert kinds (the center's own included)
    triggers: int = 0  # stored trigger lines of the shipped kinds
    shipped_triggers: int = 0
    places: int = 0
    synonyms: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing_kinds and not self.thin_kinds

    def label(self, kind: str) -> str:
        return f"{self.labels.get(kind, kind)} ({kind})"

    def problems(self) -> list[str]:
        """One Chinese sentence per problem (empty when complete)."""
        out = []
        if self.missing_kinds:
            out.append("警报词库缺少以下警报类别，来电中的相关紧急情况不会报警："
                       + "、".join(self.label(k) for k in self.missing_kinds))
        for kind, stored, shipped in self.thin_kinds:
            out.append(f"警报类别 {self.label(kind)} 只有 {stored} 条触发词（随软件提供 {shipped} 条），可能漏报")
        return out

    def summary(self) -> str:
        """One line for the command line and the log."""
        places = f"地名 {self.places} 条" if self.places else "地名库为空（无法从地址识别区和街道）"
        if self.ok:
            return (f"警报词库完整 (safety lexicon complete)：{self.alert_kinds} 类警报、"
                    f"{self.triggers} 条触发词 · {places}")
        return "警报词库不完整 (safety lexicon INCOMPLETE)：" + "；".join(self.problems()) + f" · {places}"


def check_lexicon(kb: KnowledgeBase) -> LexiconCheck:
    """Compare the stored safety lexicon with the shipped one (counts only: cheap at every start)."""
    shipped = shipped_lexicon()
    with kb.store.session() as s:
        stored_kinds = set(s.scalars(select(m.AlertKindRow.kind)))
        triggers = {kind: int(n) for kind, n in s.execute(
            select(m.AlertTermRow.kind, func.count()).where(m.AlertTermRow.polarity == "trigger")
            .group_by(m.AlertTermRow.kind))}
        places = int(s.scalar(select(func.count()).select_from(m.Place)) or 0)
        synonyms = int(s.scalar(select(func.count()).select_from(m.Synonym)) or 0)
    missing, thin = [], []
    for kind in shipped.labels:
        stored, count = triggers.get(kind, 0), shipped.triggers.get(kind, 0)
        if kind not in stored_kinds or (count and not stored):
            missing.append(kind)
        elif stored < count * MIN_TRIGGER_SHARE:
            thin.append((kind, stored, count))
    return LexiconCheck(missing_kinds=tuple(missing), thin_kinds=tuple(thin), alert_kinds=len(stored_kinds),
                        triggers=sum(triggers.get(k, 0) for k in shipped.triggers),
                        shipped_triggers=sum(shipped.triggers.values()), places=places, synonyms=synonyms,
                        labels=shipped.labels)


def repair_lexicon(kb: KnowledgeBase, check: LexiconCheck, *, lists: bool = True,
                   actor: Actor = SETUP_ACTOR) -> list[str]:
    """Load what is missing from the shipped lexicon, keeping every line the base has. Returns what was done.

    A missing or thin kind gets its shipped kind record (when absent) and every shipped line of it
    that is not stored; the lines shared by all kinds come along when the base has none. With
    ``lists``, an empty gazetteer or synonym list gets the shipped one.
    """
    base = resource_path(SAMPLE_DIR)
    done: list[str] = []
    kinds_to_fill = [*check.missing_kinds, *(k for k, _, _ in check.thin_kinds)]
    if kinds_to_fill:
        terms, kinds = kb.lexicons.alert_records()
        have_kinds = {k["kind"] for k in kinds}
        have_lines = {(t["kind"], t["pattern"], t["polarity"]) for t in terms}
        wanted = set(kinds_to_fill) | ({ANY_KIND} if not any(t["kind"] == ANY_KIND for t in terms) else set())
        new_kinds = [k for k in read_jsonl(base / "alert_kinds.jsonl")
                     if k["kind"] in kinds_to_fill and k["kind"] not in have_kinds]
        new_terms = [t for t in read_jsonl(base / "alert_terms.jsonl")
                     if t["kind"] in wanted and (t["kind"], t["pattern"], t["polarity"]) not in have_lines]
        kb.lexicons.set_alert_records([*terms, *new_terms], [*kinds, *new_kinds], actor=actor)
        done.append(f"警报类别 {'、'.join(check.label(k) for k in kinds_to_fill)}：{len(new_terms)} 行")
    if lists and check.places == 0:
        places = read_jsonl(base / "gazetteer.jsonl")
        kb.lexicons.set_places(places, actor=actor)
        done.append(f"地名库：{len(places)} 条")
    if lists and check.synonyms == 0:
        pairs = read_synonyms(base / "synonyms.tsv")
        kb.lexicons.set_synonyms(pairs, actor=actor)
        done.append(f"同义词：{len(pairs)} 对")
    if check.alert_kinds:  # a base that had a lexicon: this is a repair worth a line in the log
        for line in done:
            log.warning("lexicon repaired: %s", line)
    return done


# ------------------------------------------------------------------------------------- set-up
@dataclass(frozen=True)
class SetupResult:
    migrated: bool = False  # the schema was created or upgraded
    loaded: list[ImportResult] = field(default_factory=list)  # sample files loaded (empty: none)
    repaired: list[str] = field(default_factory=list)  # what was missing from the lexicons and got loaded
    lexicon: LexiconCheck = field(default_factory=LexiconCheck)  # the lexicon after set-up


def set_up(kb: KnowledgeBase, *, sample: bool = True, force_sample: bool = False, repair: bool = True,
           actor: Actor = SETUP_ACTOR) -> SetupResult:
    """Bring a base to a usable state: schema upgraded; on an empty base the sample (``sample``) or at
    least the safety lexicon, gazetteer and synonyms. With ``repair`` what is missing from the lexicon
    is loaded (``huiyin init``); without, an incomplete lexicon is only reported (the app's start:
    editors' choices stay), unless it has no alert kind at all (safety first: then it is loaded).

    The work runs in one transaction under the set-up lock: a failure leaves the database as it was,
    and a seat starting at the same moment waits, then finds the work done.
    """
    # The usual start: schema current, base not empty, lexicon fine; nothing to do and no lock taken.
    if not force_sample and db.stored_revision(kb.store.engine) == db.HEAD_REVISION and not (sample and kb.is_empty()):
        check = check_lexicon(kb)
        if not _needs_repair(check, repair):
            return SetupResult(lexicon=check)
    with db.setup_transaction(kb.store.engine) as conn:
        migrated = db.migrate(conn)
        tx = kb.bound_to(conn)
        tx.database_id()  # given at set-up, so that a copy (db copy) carries it and seats never write it later
        loaded = load_sample(tx, actor=actor) if force_sample or (sample and tx.is_empty()) else []
        check = check_lexicon(tx)
        repaired: list[str] = []
        if _needs_repair(check, repair):
            repaired = repair_lexicon(tx, check, lists=repair, actor=actor)
            check = check_lexicon(tx)
    return SetupResult(migrated=migrated, loaded=loaded, repaired=repaired, lexicon=check)


def _needs_repair(check: LexiconCheck, repair: bool) -> bool:
    if not check.alert_kinds:  # no alert lexicon at all is never a choice: loaded even without repair
        return True
    return repair and not (check.ok and check.places and check.synonyms)


def open_and_set_up(url: str, *, sample: bool = True, force_sample: bool = False, repair: bool = True,
                    actor: Actor = SETUP_ACTOR, clock: Callable[[], datetime] = datetime.now
                    ) -> tuple[KnowledgeBase, SetupResult]:
    """Open the base at ``url`` and :func:`set_up` it; the base is closed again if set-up fails."""
    kb = KnowledgeBase.open(url, upgrade=False, clock=clock)
    try:
        result = set_up(kb, sample=sample, force_sample=force_sample, repair=repair, actor=actor)
    except BaseException:
        kb.close()
        raise
    if not result.lexicon.ok:
        log.error("%s", result.lexicon.summary())
    return kb, result
