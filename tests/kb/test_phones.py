"""Phone normalisation: every shape of one number gives one canonical string."""

from __future__ import annotations

import pytest

from kb.errors import ValidationError
from kb.phones import display_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("13812345678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("  138-1234-5678 ", "+8613812345678"),
        ("010-6512 3456", "+861065123456"),
        ("01065123456", "+861065123456"),
        ("(010)65123456", "+861065123456"),
        ("（010）6512-3456", "+861065123456"),
        ("０１０－６５１２３４５６", "+861065123456"),  # full-width, as typed with a Chinese IME
        ("+86 10 6512 3456", "+861065123456"),
        ("65123456", "+861065123456"),  # bare 8 digits: a Beijing landline
        ("6512 3456", "+861065123456"),
        ("021-1234 5678", "+862112345678"),
        ("0571-88888888", "+8657188888888"),
        ("400-810-5678", "+864008105678"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_normalize_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "95598", "96069", "110", "119", "12315", "10086"])
def test_service_numbers_stay_digits(raw: str) -> None:
    assert normalize_phone(raw) == raw
    assert display_phone(raw) == raw


def test_service_number_with_spaces() -> None:
    assert normalize_phone(" 123 45 ") == "12345"


def test_default_area_code_is_configurable() -> None:
    assert normalize_phone("88888888", default_area_code="571") == "+8657188888888"
    assert normalize_phone("88888888", default_area_code="0571") == "+8657188888888"
    assert normalize_phone("65123456", default_area_code="21") == "+862165123456"


def test_other_region() -> None:
    assert normalize_phone("650 253 0000", "US") == "+16502530000"


def test_normalize_is_idempotent() -> None:
    for raw in ("138 1234 5678", "010-6512 3456", "65123456", "12345"):
        once = normalize_phone(raw)
        assert normalize_phone(once) == once


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "电话",
        "1381234567",  # one digit short
        "138123456789",  # one digit too many
        "13812",  # half a mobile number, not a service number
        "6512345",  # 7 digits: no Beijing landline has 7
        "0106512345",
        "++8613812345678",
        "138-1234-567a",
        "12",
    ],
)
def test_garbage_is_rejected_in_chinese(raw: str) -> None:
    with pytest.raises(ValidationError, match=r"^电话号码格式不正确：") as info:
        normalize_phone(raw)
    assert raw.strip() in str(info.value)


def test_empty_is_rejected() -> None:
    for raw in ("", "   "):
        with pytest.raises(ValidationError, match="号码为空"):
            normalize_phone(raw)


def test_extension_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValidationError, match="分机"):
        normalize_phone("010-65123456转801")


def test_bad_default_area_code() -> None:
    with pytest.raises(ValidationError, match="区号"):
        normalize_phone("65123456", default_area_code="beijing")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("+8613812345678", "138 1234 5678"),
        ("+861065123456", "010-6512 3456"),
        ("+862112345678", "021-1234 5678"),
        ("+8657188888888", "0571-8888 8888"),
        ("12345", "12345"),
        ("+16502530000", "+1 650-253-0000"),
    ],
)
def test_display(value: str, shown: str) -> None:
    assert display_phone(value) == shown


def test_display_accepts_raw_input() -> None:
    assert display_phone("65123456") == "010-6512 3456"
    assert display_phone("+86-138-1234-5678") == "138 1234 5678"
    with pytest.raises(ValidationError):
        display_phone("abc")
