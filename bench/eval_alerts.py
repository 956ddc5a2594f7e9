"""Evaluate the alert lexicon on labelled phrases: precision / recall / F1 per kind, and timing.

Usage (from the repo root, with the project's venv)::

    python bench/eval_alerts.py [CSV] [--terms JSONL] [--kinds JSONL] [--errors dev|test|all]

CSV columns: ``text,expected_kind,split,note``.  ``expected_kind`` is an alert kind or ``none``;
``split`` is ``dev`` (may be tuned on) or ``test`` (must not be).  A note may name further kinds
that are acceptable but not required for the phrase, as ``also:medical`` (a car crash with an
unconscious driver rightly raises 122 and 120): such an extra alert is neither a true nor a false
positive.  Every other extra alert counts as a false positive of its kind.

The ``dev`` rows are also the sample lexicon's example and counter sentences
(``tools/gen_alert_examples.py`` writes them into ``resources/sample/alert_terms.jsonl``); the
``test`` rows never are.  ``--patterns-only`` scores the lexicon without its sentences (the
pattern lines alone), for comparison.  The test split is also reported per batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.alerts import SENTENCE_POLARITIES, AlertLexicon  # noqa: E402
from tests.alert_phrases import DEFAULT_CSV, NONE, Phrase, Report, read_phrases, score  # noqa: E402

DEFAULT_TERMS = ROOT / "resources" / "sample" / "alert_terms.jsonl"
DEFAULT_KINDS = ROOT / "resources" / "sample" / "alert_kinds.jsonl"
SPLITS = ("dev", "test")
LONG_TEXT_CHARS = 500


def load_lexicon(terms: Path = DEFAULT_TERMS, kinds: Path = DEFAULT_KINDS, *,
                 patterns_only: bool = False) -> AlertLexicon:
    lexicon = AlertLexicon.from_jsonl(terms, kinds)
    if patterns_only:
        lexicon = AlertLexicon([t for t in lexicon.terms if t.polarity not in SENTENCE_POLARITIES], lexicon.kinds)
    return lexicon


def batch_of(phrase: Phrase) -> str:
    """``held-out batch N`` for the blind batches, ``batch 1`` for the phrases written with the first lexicon."""
    words = phrase.note.split()
    return " ".join(words[:3]) if words[:1] == ["held-out"] else "batch 1"


def by_batch(lexicon: AlertLexicon, phrases: Sequence[Phrase]) -> str:
    """Precision / recall of the test split per batch."""
    lines = ["| test batch | phrases | precision | recall |", "| --- | ---: | ---: | ---: |"]
    for batch in dict.fromkeys(batch_of(p) for p in phrases if p.split == "test"):
        rows = [p for p in phrases if p.split == "test" and batch_of(p) == batch]
        c = score(lexicon, rows).overall
        lines.append(f"| {batch} | {len(rows)} | {c.precision:.3f} | {c.recall:.3f} |")
    return "\n".join(lines)


def time_detect(lexicon: AlertLexicon, texts: Sequence[str], repeat: int = 5) -> list[float]:
    """Per-call detect time in milliseconds (best of ``repeat`` runs for each text)."""
    timings: list[float] = []
    for text in texts:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            lexicon.detect(text)
            best = min(best, time.perf_counter() - start)
        timings.append(best * 1000)
    return timings


def long_text(phrases: Sequence[Phrase], chars: int = LONG_TEXT_CHARS) -> str:
    """A realistic long call note: labelled phrases joined until ``chars`` characters."""
    parts: list[str] = []
    size = 0
    for p in phrases:
        if p.expected != NONE:
            continue
        parts.append(p.text)
        size += len(p.text) + 1
        if size >= chars:
            break
    return "。".join(parts)[:chars]


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def markdown(reports: dict[str, Report], sizes: dict[str, int]) -> str:
    lines = [
        "| split | kind | n | TP | FP | FN | precision | recall | F1 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for split, report in reports.items():
        rows = [*report.per_kind.items(), ("**all**", report.overall)]
        for kind, c in rows:
            n = c.tp + c.fn
            lines.append(
                f"| {split} | {kind} | {n} | {c.tp} | {c.fp} | {c.fn} "
                f"| {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |"
            )
        lines.append(f"| {split} | (phrases) | {sizes[split]} | | | | | | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--terms", type=Path, default=DEFAULT_TERMS)
    parser.add_argument("--kinds", type=Path, default=DEFAULT_KINDS)
    parser.add_argument("--errors", choices=("dev", "test", "all"), help="list wrong phrases of a split")
    parser.add_argument("--patterns-only", action="store_true", help="leave out the example and counter sentences")
    args = parser.parse_args(argv)

    build_start = time.perf_counter()
    lexicon = load_lexicon(args.terms, args.kinds, patterns_only=args.patterns_only)
    build_ms = (time.perf_counter() - build_start) * 1000
    phrases = read_phrases(args.csv)

    reports = {s: score(lexicon, [p for p in phrases if p.split == s]) for s in SPLITS}
    sizes = {s: sum(1 for p in phrases if p.split == s) for s in SPLITS}
    print(markdown(reports, sizes))
    print()
    print(by_batch(lexicon, phrases))

    timings = time_detect(lexicon, [p.text for p in phrases])
    long = long_text(phrases)
    long_ms = time_detect(lexicon, [long], repeat=50)[0]
    print()
    print(f"lexicon: {len(lexicon.terms)} lines ({lexicon.examples} example/counter sentences), "
          f"{len(lexicon.kinds)} kinds, built in {build_ms:.1f} ms")
    print(
        f"detect per phrase: median {statistics.median(timings):.3f} ms, p95 {p95(timings):.3f} ms, "
        f"max {max(timings):.3f} ms ({len(timings)} phrases)"
    )
    print(f"detect on a {len(long)}-char text: {long_ms:.3f} ms")

    if args.errors:
        print()
        for split in SPLITS if args.errors == "all" else (args.errors,):
            for phrase, fired in reports[split].errors:
                got = ",".join(sorted(fired)) or NONE
                print(f"[{split}] expected {phrase.expected:<9} got {got:<20} {phrase.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
