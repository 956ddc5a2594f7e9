"""Load the sample knowledge base shipped in ``resources/sample`` (``huiyin init``, first start).

Everything goes through the same import code as ``huiyin import``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kb.exchange import ImportResult, import_file
from kb.resources import resource_path
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

SAMPLE_DIR = "sample"
# Order matters: entries and rules refer to departments.
SAMPLE_FILES = (("departments", "departments.jsonl"), ("entries", "entries.jsonl"),
                ("scripts", "scripts.jsonl"), ("rules", "routing_rules.jsonl"),
                ("bulletins", "bulletins.jsonl"))


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


def load_lexicons(kb: KnowledgeBase, *, user: str = "init") -> None:
    """Synonyms, alert lexicon and gazetteer from the sample folder."""
    base = resource_path(SAMPLE_DIR)
    kb.set_synonyms(read_synonyms(base / "synonyms.tsv"), user=user)
    kb.set_alert_records(read_jsonl(base / "alert_terms.jsonl"), read_jsonl(base / "alert_kinds.jsonl"), user=user)
    kb.set_places(read_jsonl(base / "gazetteer.jsonl"), user=user)


def load_sample(kb: KnowledgeBase, *, user: str = "init") -> list[ImportResult]:
    """Import the whole sample knowledge base; safe to run again (updates by external_id)."""
    base = resource_path(SAMPLE_DIR)
    results = [import_file(kb, base / name, kind=kind, user=user) for kind, name in SAMPLE_FILES]
    load_lexicons(kb, user=user)
    log.info("sample knowledge base loaded: %s", {r.kind: r.rows for r in results})
    return results


def load_base_lexicons_if_empty(kb: KnowledgeBase) -> None:
    """An empty base (``init --empty``) still gets the alert lexicon and gazetteer: safety first."""
    terms, _ = kb.alert_records()
    if not terms:
        load_lexicons(kb)
