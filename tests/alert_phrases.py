"""The labelled alert phrases (bench/data/alert_phrases.csv) and how the alert lexicon is scored on them.

Shared by the alert tests (tests/kb/test_alerts.py), the evaluation (bench/eval_alerts.py) and
the example generator (tools/gen_alert_examples.py): one reader of the table, one scoring.

CSV columns: ``text,expected_kind,split,note``.  ``expected_kind`` is an alert kind or ``none``;
``split`` is ``dev`` (may be tuned on) or ``test`` (must not be).  A note may name further kinds
that are acceptable but not required for the phrase, as ``also:medical``: such an extra alert is
neither a true nor a false positive.  Every other extra alert counts as a false positive of its kind.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kb.alerts import AlertLexicon

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT / "bench" / "data" / "alert_phrases.csv"
NONE = "none"


@dataclass(frozen=True)
class Phrase:
    text: str
    expected: str
    split: str
    note: str

    @property
    def also(self) -> frozenset[str]:
        """Kinds named ``also:<kind>`` in the note: acceptable extra alerts."""
        return frozenset(w[5:] for w in self.note.split() if w.startswith("also:"))


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    per_kind: dict[str, Counts]
    errors: list[tuple[Phrase, frozenset[str]]] = field(default_factory=list)

    @property
    def overall(self) -> Counts:
        """Micro-average over the alert kinds."""
        total = Counts()
        for c in self.per_kind.values():
            total.tp += c.tp
            total.fp += c.fp
            total.fn += c.fn
        return total


def read_phrases(path: Path) -> list[Phrase]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            Phrase(r["text"], r["expected_kind"].strip(), r["split"].strip(), r.get("note") or "")
            for r in csv.DictReader(f)
        ]


def score(lexicon: AlertLexicon, phrases: Iterable[Phrase]) -> Report:
    """Count true/false positives and misses per kind (an alert is judged by its kind only)."""
    report = Report({k.kind: Counts() for k in lexicon.kinds})
    for phrase in phrases:
        fired = frozenset(a.kind for a in lexicon.detect(phrase.text))
        wrong = False
        for kind, counts in report.per_kind.items():
            if kind == phrase.expected:
                if kind in fired:
                    counts.tp += 1
                else:
                    counts.fn += 1
                    wrong = True
            elif kind in fired and kind not in phrase.also:
                counts.fp += 1
                wrong = True
        if wrong:
            report.errors.append((phrase, fired))
    return report
