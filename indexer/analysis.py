"""Text analysis shared by indexing and querying.

* Folding: full-width → half-width, upper → lower, traditional → simplified
  (character table from OpenCC's ``TSCharacters``; texts that contain a
  traditional character go through OpenCC ``t2s`` phrase conversion too).
* Tokens: jieba search-mode words, plus CJK character bigrams (so unknown
  words such as place names still match), plus digit runs and codes kept whole
  ("12345", "2024年", "e-0012").
* A stop list of caller filler (那个, 就是, 我想问一下, 请问, 咋办 …).
* Pinyin keys (full and initials) of title words, for ``sbk`` / ``gjj tiqu``
  style input and homophone typos (公基金, 医宝).

jieba's dictionary takes about 1.5 s to load. :func:`start_background_load`
does it on the executor it is given at application start; every tokenizing function
calls :func:`load_jieba` (idempotent, lock-protected) so a caller that comes
early simply waits for the load to finish.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.resources import resource_path

log = logging.getLogger(__name__)

USER_DICT = "jieba/userdict.txt"
STOPWORDS_FILE = "sample/stopwords.txt"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"([{_CJK}]+)|([0-9a-z]+(?:[.\-_][0-9a-z]+)*)")
_CJK_RE = re.compile(rf"[{_CJK}]")
_ALPHA_RE = re.compile(r"[a-z]+")
_DIGITS_RE = re.compile(r"\d+")
# A number followed by one of these is also kept as one token: "2024年", "3号", "5栋".
_UNITS = frozenset("年月日号岁元万个次天路栋楼室期级条项分秒")

# Caller filler and function words. Phrases of three or more characters are
# cut out of queries before segmentation (jieba would split them); shorter ones
# are dropped token by token. The resource file adds to this list.
_BUILTIN_STOP = (
    "的", "了", "是", "在", "我", "你", "他", "她", "它", "们", "这", "那", "和", "与", "及", "或", "就", "都",
    "也", "还", "又", "吗", "呢", "吧", "啊", "呀", "哦", "嗯", "么", "着", "过", "把", "被", "给", "对", "从",
    "向", "于", "为", "以", "之", "其", "该", "此", "请", "您", "哈", "噢", "哎", "喂", "嘛", "啦", "呗", "得",
    "地", "很", "太", "挺", "有", "没", "要", "想", "问", "能", "会", "说", "让", "我们", "你们", "他们",
    "她们", "它们", "我的", "你的", "这个", "那个", "这样", "那样", "这些", "那些", "一个", "一下", "一些",
    "有点", "就是", "然后", "还有", "还是", "但是", "可是", "所以", "因为", "如果", "而且", "或者", "以及",
    "并且", "并", "等", "等等", "什么", "怎么", "怎样", "如何", "为何", "为什么", "哪里", "哪儿", "哪个",
    "哪些", "多少", "是否", "是不是", "有没有", "能不能", "可不可以", "可以", "能够", "应该", "需要", "想问",
    "问问", "请问", "咨询", "您好", "你好", "谢谢", "感谢", "麻烦", "麻烦你", "帮忙", "帮我", "一下子", "现在",
    "目前", "之前", "之后", "时候", "的话", "怎么办", "咋办", "咋弄", "咋整", "咋回事", "怎么回事", "怎么弄",
    "怎么样", "我想", "我要", "我家", "我们家", "那边", "这边", "这里", "那里", "知道", "不知道", "我想问一下",
    "我想咨询", "我想咨询一下", "想咨询一下", "想问一下", "问一下", "请问一下", "我想了解", "了解一下",
    "你好请问", "您好请问", "就是说", "那个什么", "是这样的", "是这样", "我跟你说", "怎么处理", "该怎么办",
    "应该怎么办", "要怎么办", "怎么搞", "尊敬", "尊敬的", "领导", "书记", "市长", "县长", "区长", "局长",
    "厅长", "省长", "主任", "同志", "本人", "非常", "特别", "作为", "看到", "没有", "已经", "一直",
    "希望", "恳请", "恳求", "反映", "x000d",
)

# Characters that make a bigram worthless ("的房", "我在"): skipped on both
# the index and the query side, which keeps the index about a quarter smaller.
_WEAK_CHARS = frozenset("的了是在我你他她它们这那和与就都也还吗呢吧啊呀么着过把被给对从向于为以之其该此请您很")


@dataclass(frozen=True)
class QueryWord:
    """One word of a search-box query after folding, segmentation and stop-word removal."""

    text: str
    kind: str  # "cjk" | "alpha" | "num" | "code"


# --------------------------------------------------------------------------- jieba

_lock = threading.RLock()
_ready = threading.Event()
_cache_dir: Path | None = None
_loaded_extra: dict[str, tuple[str, int | None, str]] = {}
_original_freq: dict[str, int] = {}  # folded extra word → jieba's frequency before it was added (0: none)
_jieba: Any = None


def set_cache_dir(path: Path | str) -> None:
    """Directory (writable) where jieba keeps its prefix-dictionary cache."""
    global _cache_dir
    _cache_dir = Path(path)


def _import_jieba() -> Any:
    global _jieba
    if _jieba is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            warnings.filterwarnings("ignore", message="invalid escape sequence")
            import jieba

        jieba.setLogLevel(logging.WARNING)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        _jieba = jieba
    return _jieba


def load_jieba(extra_words: Iterable[tuple[str, int | None, str]] = ()) -> None:
    """Load jieba's dictionary, the hotline user dictionary and ``extra_words`` (word, freq, pos).

    Idempotent and thread-safe: the first call pays about 1.5 s, later calls
    only add words not seen before (so editor changes to the dictionary can be
    pushed with the same call).
    """
    extra = [w for w in extra_words if w[0] and w[0] not in _loaded_extra]
    if _ready.is_set() and not extra:
        return
    with _lock:
        jieba = _import_jieba()
        if not _ready.is_set():
            if _cache_dir is not None:
                _cache_dir.mkdir(parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(_cache_dir)
            jieba.initialize()
            userdict = resource_path(USER_DICT)
            if userdict.is_file():
                jieba.load_userdict(str(userdict))
            else:
                log.warning("jieba user dictionary missing: %s", userdict)
        for word, freq, pos in extra:
            _add_extra(jieba, word, freq, pos)
        _ready.set()
    _word_cache_clear()


def _add_extra(jieba: Any, word: str, freq: int | None, pos: str) -> None:
    key = fold(word)
    _original_freq.setdefault(key, int(jieba.dt.FREQ.get(key) or 0))
    jieba.add_word(key, freq=freq, tag=pos or None)
    _loaded_extra[word] = (word, freq, pos)


def set_extra_words(words: Iterable[tuple[str, int | None, str]]) -> None:
    """Make the editors' dictionary exactly ``words``: add new and changed words, take removed ones out.

    A removed word that jieba's or the hotline dictionary already had gets its
    own frequency back; any other is deleted from jieba (``del_word``).
    """
    load_jieba()
    wanted = {w[0]: w for w in words if w[0]}
    with _lock:
        jieba = _import_jieba()
        for word in [w for w in _loaded_extra if w not in wanted]:
            key = fold(word)
            original = _original_freq.pop(key, 0)
            if original:
                jieba.add_word(key, freq=original)
            else:
                jieba.del_word(key)
            del _loaded_extra[word]
        for word, entry in wanted.items():
            if _loaded_extra.get(word) != entry:
                _add_extra(jieba, *entry)
    _word_cache_clear()


def extra_words() -> list[tuple[str, int | None, str]]:
    """The extra words loaded so far (passed on to worker processes)."""
    return list(_loaded_extra.values())


def jieba_ready() -> bool:
    """True once the dictionary is loaded (searching will not block on it)."""
    return _ready.is_set()


def start_background_load(
    executor: Executor,
    extra_words: Iterable[tuple[str, int | None, str]] = (),
    cache_dir: Path | str | None = None,
) -> Future[None]:
    """Load jieba on ``executor`` (the GUI: its task manager's background pool); returns the job."""
    if cache_dir is not None:
        set_cache_dir(cache_dir)
    words = list(extra_words)

    def run() -> None:
        try:
            load_jieba(words)
        except Exception:  # pragma: no cover - logged, the next search retries the load
            log.exception("loading jieba failed")

    return executor.submit(run)


def _cut_for_search(text: str) -> list[str]:
    load_jieba()
    return list(_jieba.cut_for_search(text))


def _cut(text: str) -> list[str]:
    load_jieba()
    return list(_jieba.cut(text))


# --------------------------------------------------------------------------- folding


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[code] = chr(code - 0xFEE0).lower()
    table[0x3000] = " "
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    try:
        from opencc import opencc as _occ

        ts = Path(_occ.__file__).resolve().parent / _occ.DICT_DIR / "TSCharacters.txt"
        with ts.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2 and len(parts[0]) == 1:
                    simplified = parts[1].split(" ")[0]
                    if len(simplified) == 1 and simplified != parts[0]:
                        table[ord(parts[0])] = simplified
    except OSError:  # pragma: no cover - packaging error; folding still handles width/case
        log.warning("OpenCC character table not found; traditional characters are not folded")
    return table


_FOLD_TABLE = _build_fold_table()
_TRADITIONAL = frozenset(k for k, v in _FOLD_TABLE.items() if k > 0x2E80 and k != 0x3000 and len(v) == 1)
_opencc: Any = None


def _t2s_phrases(text: str) -> str:
    global _opencc
    if _opencc is None:
        from opencc import OpenCC

        _opencc = OpenCC("t2s")
    return str(_opencc.convert(text))


def fold_aligned(text: str) -> str:
    """Fold width, case and traditional characters one character for one.

    The result has the same length as ``text``, so positions found in it
    (for highlighting) are positions in the original.
    """
    return text.translate(_FOLD_TABLE)


def fold(text: str) -> str:
    """Full folding for tokenizing: NFKC, lower case, traditional → simplified (with phrases)."""
    text = unicodedata.normalize("NFKC", text)
    folded = text.translate(_FOLD_TABLE)
    if folded != text and any(ord(c) in _TRADITIONAL for c in text):
        folded = _t2s_phrases(text).translate(_FOLD_TABLE)
    return folded.lower()


# --------------------------------------------------------------------------- stop words


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Built-in caller filler plus ``resources/sample/stopwords.txt`` (folded)."""
    words = set(_BUILTIN_STOP)
    path = resource_path(STOPWORDS_FILE)
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            word = line.strip()
            if word and not word.startswith("#"):
                words.add(word)
    return frozenset(fold(w) for w in words)


@lru_cache(maxsize=1)
def _stop_phrases() -> tuple[str, ...]:
    # Longest first, so "我想问一下" goes before "问一下".
    return tuple(sorted((w for w in stopwords() if len(w) >= 3), key=len, reverse=True))


def strip_filler(text: str) -> str:
    """Cut multi-character filler phrases out of a folded query."""
    for phrase in _stop_phrases():
        if phrase in text:
            text = text.replace(phrase, " ")
    return text


# --------------------------------------------------------------------------- tokens


def is_cjk(text: str) -> bool:
    return bool(_CJK_RE.match(text))


def bigrams(run: str) -> list[str]:
    """Character bigrams of a CJK run, skipping those made of function characters."""
    weak = _WEAK_CHARS
    return [run[i : i + 2] for i in range(len(run) - 1) if run[i] not in weak and run[i + 1] not in weak]


def _alnum_tokens(token: str, following: str) -> list[str]:
    out = [token]
    if token.isdigit() and following and following in _UNITS:
        out.append(token + following)
    elif not token.isalpha() and not token.isdigit():
        # Codes like "e-0012" or "a3": also their digit parts.
        out.extend(_DIGITS_RE.findall(token))
    return out


def index_tokens(text: str, *, unigrams: bool = False, grams: bool = True) -> list[str]:
    """Tokens of a document field: jieba search-mode words, CJK bigrams, numbers and codes.

    ``unigrams`` adds every CJK character (used for the short title field, so a
    one-character query still finds titles); ``grams=False`` leaves out the
    bigrams (long answer texts: whoosh's cost is per distinct term and posting).
    """
    if not text:
        return []
    folded = fold(text)
    stop = stopwords()
    out: list[str] = []
    for match in _RUN_RE.finditer(folded):
        cjk, alnum = match.group(1), match.group(2)
        if cjk:
            out.extend(w for w in _cut_for_search(cjk) if w not in stop)
            if grams and len(cjk) > 1:
                out.extend(bigrams(cjk))
            if unigrams:
                out.extend(c for c in cjk if c not in stop)
        else:
            end = match.end()
            out.extend(_alnum_tokens(alnum, folded[end : end + 1]))
    return out


def cjk_chars(text: str) -> list[str]:
    """Distinct CJK characters of a short text (not stop words), so one-character queries match titles."""
    stop = stopwords()
    return list(dict.fromkeys(c for c in fold(text) if _CJK_RE.match(c) and c not in stop))


def search_words(text: str) -> list[str]:
    """Search-mode jieba words of ``text`` (long words plus their known sub-words), folded."""
    stop = stopwords()
    return [w for w in _cut_for_search(fold(text)) if w not in stop and is_cjk(w)]


@lru_cache(maxsize=16)
def word_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each precise-mode jieba word of ``text``, in ``text``'s own positions.

    Cached: one suggestion quotes the caller's words for several departments.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    for word in _cut(fold_aligned(text)):
        out.append((pos, pos + len(word)))
        pos += len(word)
    return tuple(out)


@lru_cache(maxsize=4096)
def word_parts(word: str) -> tuple[str, ...]:
    """The words ``word`` is made of: jieba's most probable segmentation of it into shorter words.

    电动车 → 电动 + 车 (not 电 + 动车), 社会保障 → 社会 + 保障. jieba's own route (the product
    of the words' dictionary frequencies), only without the word itself; characters jieba does
    not know as words come out one by one. A single character is its own only part.
    """
    load_jieba()
    freq, log_total = _jieba.dt.FREQ, math.log(_jieba.dt.total)
    n = len(word)
    # route[i]: (best log probability of word[i:], end of its first part)
    route: list[tuple[float, int]] = [(0.0, n)] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = []
        for j in range(i + 1, n + 1):
            count = freq.get(word[i:j]) if j - i < n else None
            if count or j == i + 1:
                options.append((math.log(count or 1) - log_total + route[j][0], j))
        route[i] = max(options)
    parts, i = [], 0
    while i < n:
        parts.append(word[i : route[i][1]])
        i = route[i][1]
    return tuple(parts)


def words_of(text: str) -> list[str]:
    """Precise-mode jieba words of ``text`` (folded, stop words and punctuation removed)."""
    folded = fold(text)
    stop = stopwords()
    out: list[str] = []
    for match in _RUN_RE.finditer(folded):
        cjk, alnum = match.group(1), match.group(2)
        if cjk:
            out.extend(w for w in _cut(cjk) if w not in stop)
        else:
            out.append(alnum)
    return out


def query_words(text: str) -> list[QueryWord]:
    """Words of a search-box query.

    Filler is removed; runs of single characters that jieba could not join
    (typically a typo such as 居往证) are glued back into one unknown word so
    bigram, pinyin and fuzzy matching can work on it.
    """
    folded = strip_filler(fold(text))
    stop = stopwords()
    out: list[QueryWord] = []
    for match in _RUN_RE.finditer(folded):
        cjk, alnum = match.group(1), match.group(2)
        if cjk:
            if out and out[-1].kind == "num" and not out[-1].text[-1].isdigit() and match.start() > 0:
                # "2024年": the unit already went with the number.
                cjk = cjk[1:] if folded[match.start()] == out[-1].text[-1] else cjk
            pending = ""
            for word in _cut(cjk) if cjk else ():
                if len(word) == 1 and word not in stop:
                    pending += word
                    continue
                if pending:
                    out.append(QueryWord(pending, "cjk"))
                    pending = ""
                if word not in stop:
                    out.append(QueryWord(word, "cjk"))
            if pending:
                out.append(QueryWord(pending, "cjk"))
        elif alnum.isdigit():
            end = match.end()
            nxt = folded[end : end + 1]
            out.append(QueryWord(alnum + nxt if nxt in _UNITS else alnum, "num"))
        elif alnum.isalpha():
            out.append(QueryWord(alnum, "alpha"))
        else:
            out.append(QueryWord(alnum, "code"))
    # Drop exact duplicates, keep order.
    seen: set[str] = set()
    unique: list[QueryWord] = []
    for qword in out:
        if qword.text not in seen:
            seen.add(qword.text)
            unique.append(qword)
    return unique


def description_terms(text: str) -> Counter[str]:
    """Candidate terms of a call description with their counts (words, numbers, codes)."""
    folded = strip_filler(fold(text))
    stop = stopwords()
    counts: Counter[str] = Counter()
    for match in _RUN_RE.finditer(folded):
        cjk, alnum = match.group(1), match.group(2)
        if cjk:
            for word in _cut(cjk):
                if word not in stop:
                    counts[word] += 1
        elif len(alnum) > 1:
            counts[alnum] += 1
    return counts


# --------------------------------------------------------------------------- pinyin

# Toneless pinyin is pypinyin's ``lazy_pinyin(word, errors="ignore")``, with a smaller phrase
# dictionary (issue #7): pypinyin is imported on first use with PYPINYIN_NO_PHRASES=1, so it skips
# its 47,111-phrase dictionary (about 44 MB of RAM), and gets instead, via ``load_phrases_dict``,
# the few thousand phrases of resources/pinyin/phrases.txt (generated from pypinyin's own data by
# tools/gen_pinyin_phrases.py): those whose pinyin differs from the characters' default readings
# (银行 yin hang, 重庆 chong qing) and those its segmentation needs to cut words as with the full
# dictionary. Same syllables as full pypinyin for every word of jieba's dictionary, the hotline
# user dictionary and pypinyin's phrase list (tools/gen_pinyin_phrases.py,
# tests/indexer/test_pinyin.py). If pypinyin was already imported with its full dictionary, the
# phrases it already has are left alone, so nothing changes.
PINYIN_PHRASES = "pinyin/phrases.txt"

_pinyin_lock = threading.Lock()
_lazy_pinyin: Callable[..., list[str]] | None = None
_word_cache: dict[str, tuple[str, str]] = {}


def _word_cache_clear() -> None:
    _word_cache.clear()
    word_spans.cache_clear()  # the dictionary changed: segmentation may too
    word_parts.cache_clear()


def read_pinyin_phrases(lines: Iterable[str]) -> dict[str, list[list[str]]]:
    """phrases.txt (``phrase<TAB>readings, space-separated``) as ``pypinyin.load_phrases_dict`` takes it."""
    phrases: dict[str, list[list[str]]] = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        phrase, _, readings = line.rstrip("\n").partition("\t")
        syllables = readings.split(" ")
        if len(syllables) != len(phrase) or not all(syllables):
            raise ValueError(f"bad pinyin phrase line: {line.rstrip()}")
        phrases[phrase] = [[s] for s in syllables]
    return phrases


def _load_pypinyin() -> Callable[..., list[str]]:
    """pypinyin's ``lazy_pinyin``, imported once (thread-safe) without its big phrase dictionary."""
    global _lazy_pinyin
    with _pinyin_lock:
        if _lazy_pinyin is None:
            os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
            import pypinyin
            from pypinyin.constants import PHRASES_DICT

            with resource_path(PINYIN_PHRASES).open(encoding="utf-8") as fh:
                phrases = read_pinyin_phrases(fh)
            missing = {p: r for p, r in phrases.items() if p not in PHRASES_DICT}
            if missing:
                pypinyin.load_phrases_dict(missing)
            _lazy_pinyin = pypinyin.lazy_pinyin
        return _lazy_pinyin


def pinyin_keys(word: str) -> tuple[str, str]:
    """(full pinyin without tones, initials) of a CJK word: 社保卡 → ("shebaoka", "sbk")."""
    cached = _word_cache.get(word)
    if cached is not None:
        return cached
    lazy_pinyin = _lazy_pinyin if _lazy_pinyin is not None else _load_pypinyin()
    syllables = lazy_pinyin(word, errors="ignore")
    result = ("".join(syllables), "".join(s[0] for s in syllables if s))
    if len(_word_cache) < 200_000:
        _word_cache[word] = result
    return result


def pinyin_tokens(texts: Sequence[str]) -> list[str]:
    """Pinyin keys (full and initials) of the CJK words of short texts (title, aliases, keywords).

    Search-mode words, so 结婚登记 also yields 结婚 and 登记 (``jiehun dengji``).
    """
    out: list[str] = []
    for text in texts:
        for word in search_words(text):
            if len(word) >= 2:
                full, initials = pinyin_keys(word)
                out.append(full)
                out.append(initials)
    return out


def idf(doc_count: int, doc_freq: int) -> float:
    """BM25-style inverse document frequency, never negative."""
    return math.log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


def has_alpha(text: str) -> bool:
    return bool(_ALPHA_RE.search(text))
