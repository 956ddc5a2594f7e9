from __future__ import annotations

from indexer import analysis


def test_bigrams_cover_unknown_words() -> None:
    tokens = analysis.index_tokens("景蓉华苑小区")
    assert {"景蓉", "蓉华", "华苑"} <= set(tokens)


def test_bigrams_skip_function_characters() -> None:
    assert "的房" not in analysis.bigrams("我的房子")
    assert "房子" in analysis.bigrams("我的房子")


def test_folding_width_case_and_traditional() -> None:
    assert analysis.fold("ＡＢＣ１２３") == "abc123"
    assert analysis.fold("居住證辦理") == "居住证办理"
    assert analysis.fold_aligned("醫保ＡＢ") == "医保ab"
    assert len(analysis.fold_aligned("醫保ＡＢ")) == 4


def test_digits_and_codes_kept() -> None:
    tokens = analysis.index_tokens("拨打12345热线，2024年起执行，文号E-0012")
    assert "12345" in tokens
    assert "2024年" in tokens and "2024" in tokens
    assert "e-0012" in tokens


def test_stop_words_and_filler_removed_from_queries() -> None:
    words = [w.text for w in analysis.query_words("那个，我想问一下居住证咋办")]
    assert words == ["居住证"]


def test_user_dictionary_words_stay_whole() -> None:
    assert "公租房" in [w.text for w in analysis.query_words("公租房申请")]


def test_query_number_with_unit_is_one_word() -> None:
    words = analysis.query_words("2024年 政策")
    assert [w.text for w in words] == ["2024年", "政策"]


def test_pinyin_keys() -> None:
    assert analysis.pinyin_keys("社保卡") == ("shebaoka", "sbk")
    assert "gjj" in analysis.pinyin_tokens(["公积金提取"])


def test_description_terms_count_words() -> None:
    counts = analysis.description_terms("您好，我想咨询一下公积金提取，公积金怎么提取")
    assert counts["公积金"] == 2
    assert "您好" not in counts


def test_load_jieba_is_idempotent_and_adds_words() -> None:
    analysis.load_jieba([("蓝鲸小区", 2000, "ns")])
    analysis.load_jieba([("蓝鲸小区", 2000, "ns")])
    assert analysis.jieba_ready()
    assert "蓝鲸小区" in analysis.words_of("我住蓝鲸小区")


def test_set_extra_words_adds_changes_and_removes() -> None:
    import jieba

    before = analysis.extra_words()
    base_freq = jieba.dt.FREQ["居住证"]  # from the hotline user dictionary
    try:
        analysis.set_extra_words([*before, ("翠湖天地嘉园", 3000, "ns")])
        assert "翠湖天地嘉园" in analysis.words_of("我住翠湖天地嘉园三号楼")
        # Removing an editor's word takes it out of jieba; a built-in word gets its own frequency back.
        analysis.set_extra_words([*before, ("居住证", 7, "")])
        assert "翠湖天地嘉园" not in analysis.words_of("我住翠湖天地嘉园三号楼")
        assert jieba.dt.FREQ["居住证"] == 7
        analysis.set_extra_words(before)
        assert jieba.dt.FREQ["居住证"] == base_freq
        assert "居住证" in analysis.words_of("办理居住证")
    finally:
        analysis.set_extra_words(before)
