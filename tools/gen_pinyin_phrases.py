"""Derive ``resources/pinyin/phrases.txt``, the reduced phrase list Huiyin loads into pypinyin.

    python tools/gen_pinyin_phrases.py            # (re)write it
    python tools/gen_pinyin_phrases.py --check    # exit 1 if it is not what this would write

Why (issue #7, memory): Huiyin needs only toneless pinyin, ``lazy_pinyin(word, errors="ignore")``,
for its pinyin search keys (``indexer.analysis.pinyin_keys``). pypinyin with its phrase
dictionary costs about 56 MB of RAM, 44 MB of it the 47,111 phrases (nested lists, plus the
segmenter's prefix set). So the app imports pypinyin with ``PYPINYIN_NO_PHRASES=1`` (no phrase
dictionary) and hands it, with ``pypinyin.load_phrases_dict``, only the phrases that change
anything:

1. those whose toneless pinyin differs from their characters' default (first) readings
   (银行 yin hang, 重庆 chong qing, 会计 kuai ji …);
2. the few others that pypinyin's forward-maximum-match segmentation needs to cut a word as
   with the full dictionary (上行下效: without it the segmenter would take the phrase 上行
   shang hang and give shanghangxiaxiao). Found by a fixed-point loop: the vocabulary's pinyin
   is computed by real pypinyin in a subprocess (``PYPINYIN_NO_PHRASES=1`` + the candidate list)
   and compared with real pypinyin with its full dictionary in this process; for every word
   that differs, the phrases the full segmenter cuts it into are added, until none differs.

The vocabulary: jieba's main dictionary, Huiyin's user dictionary
(``resources/jieba/userdict.txt``) and every pypinyin phrase. The file is written only when the
reduced list gives exactly full pypinyin's syllables for all of it. ``tests/indexer/test_pinyin.py``
re-checks the app's ``pinyin_keys`` against the installed pypinyin.

Licence: pypinyin (https://github.com/mozillazg/python-pinyin) is MIT-licensed,
Copyright (c) 2016 mozillazg, 闲耘; the generated file carries that notice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT_DIR = ROOT / "resources" / "pinyin"
USER_DICT = ROOT / "resources" / "jieba" / "userdict.txt"

if os.environ.get("PYPINYIN_NO_PHRASES"):
    sys.exit("unset PYPINYIN_NO_PHRASES: this script needs pypinyin's full phrase dictionary")

import jieba  # noqa: E402
import pypinyin  # noqa: E402
from pypinyin import Style, lazy_pinyin  # noqa: E402
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT  # noqa: E402
from pypinyin.seg.simpleseg import seg as full_seg  # noqa: E402
from pypinyin.style import convert as convert_style  # noqa: E402

LICENCE = """\
# pypinyin is under the MIT License:
# Copyright (c) 2016 mozillazg, 闲耘 <hotoo.cn@gmail.com>
# Permission is hereby granted, free of charge, to any person obtaining a copy of this software
# and associated documentation files (the "Software"), to deal in the Software without
# restriction, including without limitation the rights to use, copy, modify, merge, publish,
# distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
# Software is furnished to do so, subject to the following conditions: The above copyright
# notice and this permission notice shall be included in all copies or substantial portions of
# the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
# IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
# PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
# LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
# OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
# DEALINGS IN THE SOFTWARE.
"""

PHRASES_HEADER = """\
# Pinyin of phrases, loaded into pypinyin (imported with PYPINYIN_NO_PHRASES=1) by Huiyin's
# pinyin search keys (indexer/analysis.py, pypinyin.load_phrases_dict).
#
# Derived from pypinyin {version} (https://github.com/mozillazg/python-pinyin), file
# pypinyin/phrases_dict.json, by tools/gen_pinyin_phrases.py; do not edit by hand, re-run it.
# Kept: the {differ} phrases whose toneless pinyin differs from the characters' default
# readings, plus {blockers} whose pinyin does not but which pypinyin's segmentation needs to cut
# words as with the full dictionary: {total} of pypinyin's {all_phrases} phrases.
# Format: phrase<TAB>reading of each character (pypinyin's first reading, with tone marks),
# space-separated.
#
"""

# Runs in a subprocess: pypinyin without its phrase dictionary plus a phrase list, as the app
# loads it (indexer.analysis.read_pinyin_phrases + pypinyin.load_phrases_dict).
# stdin: {"phrases": <phrases.txt text>, "words": [...]}; stdout: [<syllables, space-separated>, ...]
REDUCED_SCRIPT = """\
import json, os, sys
assert os.environ.get("PYPINYIN_NO_PHRASES")
import pypinyin
from pypinyin.constants import PHRASES_DICT
from indexer.analysis import read_pinyin_phrases
assert not PHRASES_DICT
data = json.load(sys.stdin)
pypinyin.load_phrases_dict(read_pinyin_phrases(data["phrases"].splitlines()))
json.dump([" ".join(pypinyin.lazy_pinyin(w, errors="ignore")) for w in data["words"]], sys.stdout)
"""

_toneless_cache: dict[str, str] = {}


def toneless(reading: str) -> str:
    out = _toneless_cache.get(reading)
    if out is None:
        out = _toneless_cache[reading] = str(convert_style(reading, Style.NORMAL, strict=True))
    return out


def phrase_lines(phrases: dict[str, list[str]]) -> list[str]:
    return [f"{phrase}\t{' '.join(readings)}" for phrase, readings in sorted(phrases.items())]


def reduced_pinyin(phrases: dict[str, list[str]], words: list[str]) -> list[str]:
    """Each word's syllables (space-separated) from pypinyin with PYPINYIN_NO_PHRASES + ``phrases``."""
    env = {**os.environ, "PYPINYIN_NO_PHRASES": "1", "PYTHONIOENCODING": "utf-8"}
    data = json.dumps({"phrases": "\n".join(phrase_lines(phrases)), "words": words}, ensure_ascii=False)
    proc = subprocess.run([sys.executable, "-c", REDUCED_SCRIPT], input=data.encode("utf-8"),
                          capture_output=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"reduced-pypinyin subprocess failed:\n{proc.stderr.decode('utf-8', 'replace')}")
    out: list[str] = json.loads(proc.stdout.decode("utf-8"))
    if len(out) != len(words):
        raise SystemExit("reduced-pypinyin subprocess returned the wrong number of results")
    return out


def vocabulary() -> list[str]:
    words: set[str] = set(PHRASES_DICT)
    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as fh:  # jieba's main dictionary
        words.update(line.split(" ", 1)[0] for line in fh)
    for line in USER_DICT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.split(" ", 1)[0])
    return sorted(w for w in words if w)


def odd_strings(words: list[str], n: int = 30_000) -> list[str]:
    """Random mixtures of dictionary words with digits, Latin, punctuation and rare hanzi."""
    rng = random.Random(12345)
    extras = ["1", "2024年", "abc", "AT&T", "，", " ", "〇", "\ue815", "\U00020000", "\U0002a6d6", "\U0003134a",
              "\u9fff", "㐀", "丷", "﨎", "-"]
    out = []
    for _ in range(n):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 3))]
        for _ in range(rng.randint(0, 2)):
            parts.insert(rng.randint(0, len(parts)), rng.choice(extras))
        out.append("".join(parts))
    return out


def char_default(char: str) -> str:
    """The toneless reading pypinyin gives a character outside any phrase ("" if none)."""
    value = PINYIN_DICT.get(ord(char))
    return toneless(value.split(",")[0]) if value else ""


def derive(full_phrases: dict[str, list[str]], words: list[str],
           expected: list[str]) -> tuple[dict[str, list[str]], int, int]:
    """(kept phrases, how many of them have other readings than their characters', loop rounds)."""
    keep = {p: r for p, r in full_phrases.items() if [toneless(s) for s in r] != [char_default(c) for c in p]}
    differ = len(keep)
    rounds = 0
    while True:
        rounds += 1
        got = reduced_pinyin(keep, words)
        missing: dict[str, list[str]] = {}
        for word, ours, theirs in zip(words, got, expected, strict=True):
            if ours != theirs:
                missing.update((s, full_phrases[s]) for s in full_seg(word) if s in full_phrases and s not in keep)
        if not missing:
            return keep, differ, rounds
        print(f"round {rounds}: {len(missing)} phrases added for segmentation", file=sys.stderr)
        keep.update(missing)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare with the existing file")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default resources/pinyin)")
    args = ap.parse_args()

    if len(PHRASES_DICT) < 40_000:
        raise SystemExit(f"pypinyin's phrase dictionary has only {len(PHRASES_DICT)} phrases")
    words = vocabulary()
    full_phrases = {p: [r[0] for r in readings] for p, readings in PHRASES_DICT.items()}
    if not all(len(r) == len(p) and all(s and " " not in s and "\t" not in s for s in r)
               for p, r in full_phrases.items()):
        raise SystemExit("unexpected phrase reading in pypinyin's data")
    expected = [" ".join(lazy_pinyin(w, errors="ignore")) for w in words]
    keep, differ, rounds = derive(full_phrases, words, expected)

    # Final check with the list as written, on the vocabulary (must be identical) and on random
    # mixed texts (informational: words joined without a break may segment differently).
    mixed = odd_strings(words)
    got = reduced_pinyin(keep, words + mixed)
    wrong = [w for w, ours, theirs in zip(words, got[:len(words)], expected, strict=True) if ours != theirs]
    if wrong:  # pragma: no cover - derive() loops until there are none
        print(f"reduced phrase list differs on {len(wrong)} words, e.g. {wrong[:10]}", file=sys.stderr)
        return 2
    mismatched = sum(1 for w, ours in zip(mixed, got[len(words):], strict=True)
                     if ours != " ".join(lazy_pinyin(w, errors="ignore")))

    version = pypinyin.__version__
    text = (PHRASES_HEADER.format(version=version, differ=differ, blockers=len(keep) - differ,
                                  total=len(keep), all_phrases=len(PHRASES_DICT))
            + LICENCE + "\n".join(phrase_lines(keep)) + "\n")
    print(f"{len(words):,} dictionary words: identical pinyin from pypinyin {version} with its full dictionary "
          f"and with PYPINYIN_NO_PHRASES + {len(keep):,} of {len(PHRASES_DICT):,} phrases ({differ:,} other "
          f"readings, {len(keep) - differ} for segmentation; {rounds} round(s)); {len(mixed):,} mixed texts "
          f"whose pinyin the reduced list changes: {mismatched} (words joined without a break)")
    path = args.out / "phrases.txt"
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is out of date: re-run tools/gen_pinyin_phrases.py", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
