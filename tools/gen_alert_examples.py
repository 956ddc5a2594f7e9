"""Write the sample lexicon's example and counter sentences from the labelled phrase table.

The shipped alert lexicon (``resources/sample/alert_terms.jsonl``) learns from example sentences
(see :mod:`kb.alert_examples`).  Its examples are the ``dev`` rows of
``bench/data/alert_phrases.csv``: a row of an alert kind becomes an ``example`` line of that kind
(and of each ``also:`` kind of its note), a ``none`` row a ``counter`` line of kind ``*``.  The
``test`` rows never become examples, so ``bench/eval_alerts.py`` still measures text the lexicon
was not built from.  Pattern lines (trigger, cue, exclude) are kept as they are.

Usage (from the repo root)::

    python tools/gen_alert_examples.py [--check]

``--check`` exits 1 when the lexicon file is not what this script would write (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.alert_phrases import DEFAULT_CSV as PHRASES  # noqa: E402  (the phrase table's one reader)
from tests.alert_phrases import read_phrases  # noqa: E402

TERMS = ROOT / "resources" / "sample" / "alert_terms.jsonl"

SENTENCE_POLARITIES = ("example", "counter")


def example_lines(phrases: Path = PHRASES) -> list[dict[str, Any]]:
    """Example and counter lines for the dev rows of the phrase table, in table order."""
    lines: list[dict[str, Any]] = []
    for p in read_phrases(phrases):
        if p.split != "dev":
            continue
        text = p.text.strip()
        source = " ".join(w for w in p.note.split() if not w.startswith("also:"))
        if p.expected == "none":
            lines.append({"kind": "*", "pattern": text, "polarity": "counter", "note": source})
            continue
        for each in dict.fromkeys([p.expected, *sorted(p.also)]):
            lines.append({"kind": each, "pattern": text, "polarity": "example", "note": source})
    return lines


def render(terms: Path = TERMS, phrases: Path = PHRASES) -> str:
    """The lexicon file with its sentence lines replaced by :func:`example_lines`."""
    kept = [
        line for line in terms.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line).get("polarity") not in SENTENCE_POLARITIES
    ]
    fresh = [json.dumps(line, ensure_ascii=False) for line in example_lines(phrases)]
    return "\n".join(kept + fresh) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if TERMS.read_text(encoding="utf-8") != text:
            print(f"{TERMS} is out of date: run python tools/gen_alert_examples.py", file=sys.stderr)
            return 1
        return 0
    TERMS.write_text(text, encoding="utf-8")
    n = sum(1 for line in text.splitlines() if json.loads(line)["polarity"] in SENTENCE_POLARITIES)
    print(f"{TERMS.relative_to(ROOT)}: {n} example/counter lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
