"""Pinyin keys from pypinyin with Huiyin's reduced phrase dictionary against full pypinyin (issue #7).

The app imports pypinyin with PYPINYIN_NO_PHRASES=1 (its 47,111-phrase dictionary alone cost
44 MB of RAM) and loads only resources/pinyin/phrases.txt into it. These tests hold that to
pypinyin with its complete phrase dictionary, computed in a subprocess: the same syllables as
``pypinyin.lazy_pinyin(word, errors="ignore")`` for polyphone-sensitive hotline words, a random
sample of jieba's dictionary, the hotline user dictionary and the sample knowledge base's words.
If pypinyin is upgraded and its data changes, they fail: re-run ``python tools/gen_pinyin_phrases.py``.

Tests run in one process: if something imported pypinyin with its full dictionary before
``analysis.pinyin_keys`` was first called, the reduced list changes nothing and these tests
still hold.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import analysis
from indexer.index import SearchIndex
from tests.indexer.conftest import TODAY, small_kb

REPO = Path(__file__).resolve().parents[2]

# Words of 12345 calls whose pinyin depends on the phrase (多音字), or that name places.
HOTLINE_WORDS = """
银行 银行卡 银行流水 建设银行 重庆 重庆市 长安街 行长 会计 重新 重复 重点 重大 调解 调查 调动 调整 空调
单位 供暖 供热 供给 提供 还款 还贷 归还 朝阳 朝阳区 朝阳门 朝阳路 长春 长沙 长期 成长 校长 处长 厦门 大厦
六安 蚌埠 乐山 音乐 快乐 行政 行驶证 行人 行业 自行车 步行街 着火 着急 睡着 堵塞 地下车库 车位 给排水 排水
都市 首都 都是 省会 会议 便民 便宜 方便 落户 落实 降落 数据 数量 发票 头发 理发 处理 处罚 差价 出差 参加
宿舍 教育 教书 学校 校对 相关 相片 应该 应急 结果 结婚 传染 传记 那些 中奖 中国 子弹 弹簧 薄弱 血压 流血
削减 强迫 勉强 率先 效率 觉得 睡觉 假期 放假 请假 转账 转发 转弯 角落 主角 背景 背包 给予 省略 反省 西藏
冲突 种植 种类 几乎 几个 大夫 爱好 好的 模样 模范 钥匙 公积金 住房公积金 医保 社保 社保卡 居住证 暖气 物业
业主 占用 占道 露天 暴露 露台 尽量 尽管 传达 奔丧 丧失 兴趣 高兴 兴建 应届 答应 为了 作为 难民 困难 调取
"""

# pypinyin with its complete phrase dictionary, in a fresh process (PYPINYIN_NO_PHRASES unset).
# stdin: JSON list of words; stdout: JSON list of their syllable lists.
FULL_SCRIPT = """\
import json, sys
import pypinyin
from pypinyin.constants import PHRASES_DICT
assert len(PHRASES_DICT) > 40000, len(PHRASES_DICT)
words = json.load(sys.stdin)
json.dump([pypinyin.lazy_pinyin(w, errors="ignore") for w in words], sys.stdout)
"""


def _clean_env() -> dict[str, str]:
    """This process's environment without PYPINYIN_NO_PHRASES (which pinyin_keys may have set)."""
    env = {k: v for k, v in os.environ.items() if k != "PYPINYIN_NO_PHRASES"}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def hotline_words() -> list[str]:
    return HOTLINE_WORDS.split()


def dictionary_words() -> list[str]:
    """20,000 random words of jieba's main dictionary (seeded) and the hotline user dictionary."""
    import jieba

    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as fh:
        jieba_words = [line.split(" ", 1)[0] for line in fh]
    words = random.Random(7).sample(jieba_words, 20_000)
    user_dict = REPO / "resources" / "jieba" / "userdict.txt"
    words += [line.split(" ", 1)[0] for line in user_dict.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    return words


def sample_kb_words() -> list[str]:
    words: set[str] = set()
    for line in (REPO / "resources" / "sample" / "entries.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        texts = [entry.get("title", ""), *entry.get("aliases", []), *entry.get("keywords", [])]
        words.update(w for text in texts if isinstance(text, str) for w in analysis.search_words(text))
    return sorted(words)


@pytest.fixture(scope="module")
def full_keys() -> dict[str, tuple[str, str]]:
    """Keys from full pypinyin for every word these tests check: one subprocess for the batch."""
    words = sorted({*hotline_words(), *dictionary_words(), *sample_kb_words()})
    proc = subprocess.run([sys.executable, "-c", FULL_SCRIPT], input=json.dumps(words, ensure_ascii=False),
                          capture_output=True, text=True, encoding="utf-8", env=_clean_env(), cwd=REPO,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    syllables: list[list[str]] = json.loads(proc.stdout)
    assert len(syllables) == len(words)
    return {w: ("".join(s), "".join(x[0] for x in s if x)) for w, s in zip(words, syllables, strict=True)}


def check(full_keys: dict[str, tuple[str, str]], words: list[str]) -> None:
    wrong = [(w, analysis.pinyin_keys(w)[0], full_keys[w][0]) for w in words if analysis.pinyin_keys(w) != full_keys[w]]
    assert not wrong, f"{len(wrong)} of {len(words)} words differ from pypinyin (word, ours, pypinyin): {wrong[:20]}"


@pytest.mark.parametrize(("word", "full", "initials"), [
    ("银行", "yinhang", "yh"),
    ("重庆", "chongqing", "cq"),
    ("长安街", "changanjie", "caj"),
    ("行长", "hangzhang", "hz"),
    ("会计", "kuaiji", "kj"),
    ("重新", "chongxin", "cx"),
    ("朝阳区", "chaoyangqu", "cyq"),
    ("西藏", "xizang", "xz"),
    ("社保卡", "shebaoka", "sbk"),
    ("绿化", "lvhua", "lh"),
    ("3号楼b座", "haolouzuo", "hlz"),  # non-hanzi dropped, as pypinyin errors="ignore"
])
def test_polyphone_keys(word: str, full: str, initials: str) -> None:
    assert analysis.pinyin_keys(word) == (full, initials)


def test_same_as_pypinyin_on_hotline_words(full_keys: dict[str, tuple[str, str]]) -> None:
    check(full_keys, hotline_words())


def test_same_as_pypinyin_on_jieba_and_user_dictionaries(full_keys: dict[str, tuple[str, str]]) -> None:
    check(full_keys, dictionary_words())


def test_same_as_pypinyin_on_sample_knowledge_base(full_keys: dict[str, tuple[str, str]]) -> None:
    words = sample_kb_words()
    assert len(words) > 300
    check(full_keys, words)


def test_read_pinyin_phrases() -> None:
    lines = ["# comment\n", "\n", "银行\tyín háng\n", "重庆\tchóng qìng\n"]
    assert analysis.read_pinyin_phrases(lines) == {"银行": [["yín"], ["háng"]], "重庆": [["chóng"], ["qìng"]]}
    with pytest.raises(ValueError):
        analysis.read_pinyin_phrases(["一一\tyi\n"])


def test_pinyin_search_finds_polyphone_titles(tmp_path: Path) -> None:
    from tests.helpers import make_entry

    entries = [*small_kb(),
               make_entry(21, "重庆路公交站迁移", "重庆路公交站因施工临时迁移。"),
               make_entry(22, "银行卡被冻结怎么办", "请携带身份证到开户银行网点咨询。")]
    ix = SearchIndex.open(tmp_path / "index")
    try:
        ix.rebuild(entries, revision=1)
        for query, entry_id in (("yinhang", 22), ("yinhangka", 22), ("cq", 21), ("chongqing", 21)):
            assert entry_id in [h.id for h in ix.search(query, today=TODAY, limit=3)], query
    finally:
        ix.close()


def test_app_loads_only_the_reduced_phrase_dictionary() -> None:
    """In a fresh process pypinyin is imported on first use, without its 47k-phrase dictionary."""
    code = ("import sys\n"
            "from indexer import analysis\n"
            "assert 'pypinyin' not in sys.modules, 'pypinyin imported before first use'\n"
            "assert analysis.pinyin_keys('银行') == ('yinhang', 'yh')\n"
            "from pypinyin.constants import PHRASES_DICT\n"
            "assert 1_000 < len(PHRASES_DICT) < 10_000, len(PHRASES_DICT)\n"
            "assert analysis.pinyin_keys('重庆银行') == ('chongqingyinhang', 'cqyh')\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_clean_env(), check=True, timeout=60)

