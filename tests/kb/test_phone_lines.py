"""A department's phones as shown to agents: each number once (issue #16: "96069 / 96069")."""

from __future__ import annotations

from kb.phones import phone_lines


def test_equal_numbers_are_shown_once_with_their_roles() -> None:
    assert phone_lines({"hotline": "96069", "transfer": "96069"}) == [("电话/转接", "96069")]
    assert phone_lines({"hotline": "96069", "duty": "010-6512 0000", "transfer": "01065120000"}) == [
        ("电话", "96069"), ("值班/转接", "010-6512 0000")]


def test_empty_numbers_are_left_out_and_distinct_ones_kept_in_order() -> None:
    assert phone_lines({}) == []
    assert phone_lines({"hotline": " ", "duty": "110", "transfer": "122"}) == [("值班", "110"), ("转接", "122")]
    assert phone_lines({"fax": "12345"}) == [("fax", "12345")]  # an unknown role keeps its name
