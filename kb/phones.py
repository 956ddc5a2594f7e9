"""Caller phone numbers: one canonical form for storage, one readable form for agents.

Agents type or paste the caller's number in every shape imaginable ("138 1234 5678",
"+86-138-1234-5678", "(010)65123456", "008613812345678", a bare "65123456"). The
repeat-caller lookup (重复来电) only works if every shape of one number is stored
the same way, so :func:`normalize_phone` reduces them to a canonical string:

* ordinary numbers become E.164 ("+8613812345678", "+861065123456"), parsed and
  validated with Google's libphonenumber port (``phonenumbers``), which knows the
  current Chinese mobile ranges and area codes;
* a bare 7/8-digit local number is a landline of the hotline's own city: it gets
  ``default_area_code`` ("10", Beijing) prepended before parsing;
* short service numbers (12345, 95598, 96069, 110, …) have no E.164 form and stay as
  their digits; they are recognised with libphonenumber's short-number metadata
  for the region, so "13812" (half a mobile number) is still rejected;
* anything else raises :class:`kb.errors.ValidationError` with a Chinese message
  ("电话号码格式不正确：…") that the GUI can show as is.

Extensions (010-65123456转801) are rejected rather than silently dropped: the
canonical form must identify the caller, and losing a digit of it is worse than
asking the agent to put the extension in the notes.

:func:`display_phone` formats a (normalised or raw) number the way Chinese agents
read numbers aloud: mobiles 3-4-4 ("138 1234 5678"), landlines with the trunk
prefix and a dash ("010-6512 3456").

:func:`phone_lines` is the one way a department's phones are shown: each number once, with
the roles that share it ("电话/转接 96069", not "96069 / 96069").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, shortnumberinfo

from kb.errors import ValidationError

__all__ = ["DEFAULT_AREA_CODE", "PHONE_ROLES", "display_phone", "normalize_phone", "phone_lines"]

DEFAULT_AREA_CODE = "10"
"""Beijing. A bare local number is taken to be a landline of this area."""

PHONE_ROLES = {"hotline": "电话", "duty": "值班", "transfer": "转接"}
"""How the roles of a department's phones (:attr:`kb.dto.DepartmentView.phones`) are labelled."""

_SEPARATORS = re.compile(r"[\s\-–—_.·/()（）\[\]【】]+")
_EXTENSION = re.compile(r"(转|分机|ext\.?|x)\s*\d+\s*$", re.IGNORECASE)
_LOCAL_LANDLINE = re.compile(r"[2-9]\d{6,7}")
_MAX_SHORT_NUMBER_LEN = 6


def _error(raw: str, reason: str = "") -> ValidationError:
    if not raw.strip():
        return ValidationError(f"电话号码格式不正确：{reason or '号码为空'}")
    suffix = f"（{reason}）" if reason else ""
    return ValidationError(f"电话号码格式不正确：“{raw.strip()}”{suffix}")


def normalize_phone(raw: str, region: str = "CN", *, default_area_code: str = DEFAULT_AREA_CODE) -> str:
    """Return the canonical form of ``raw``: E.164, or the bare digits of a service number.

    ``region`` is the ISO 3166 code used for numbers written without a country code;
    ``default_area_code`` (without the trunk "0") is applied to bare local landline
    numbers of that region. Raises :class:`ValidationError` for anything that is not
    a valid number.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise _error(raw, "号码为空")
    if _EXTENSION.search(text) and not text.lstrip("+").isdigit():
        raise _error(raw, "请去掉分机号，分机号可写在备注里")
    compact = _SEPARATORS.sub("", text)
    if not compact or not re.fullmatch(r"\+?\d+", compact):
        raise _error(raw)

    region = region.upper()
    if compact.isdigit() and len(compact) <= _MAX_SHORT_NUMBER_LEN:
        short = _parse(compact, region)
        if short is not None and shortnumberinfo.is_valid_short_number_for_region(short, region):
            return compact
    if region == "CN" and _LOCAL_LANDLINE.fullmatch(compact):
        if not default_area_code.isdigit():
            raise ValidationError(f"默认区号设置不正确：“{default_area_code}”")
        compact = "0" + default_area_code.lstrip("0") + compact

    number = _parse(compact, region)
    if number is None or not phonenumbers.is_valid_number(number):
        raise _error(raw, "位数不对或号段不存在")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def display_phone(normalized: str) -> str:
    """Format a number for reading: "138 1234 5678", "010-6512 3456", "12345".

    Accepts the output of :func:`normalize_phone` (and, for convenience, anything
    :func:`normalize_phone` accepts). Foreign numbers use the international format.
    """
    canonical = normalized if _is_canonical(normalized) else normalize_phone(normalized)
    if canonical.isdigit():  # a service number
        return canonical
    number = phonenumbers.parse(canonical, None)
    if number.country_code != 86:
        return str(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
    national = str(phonenumbers.national_significant_number(number))
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE and len(national) == 11:
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    area_len = phonenumbers.length_of_geographical_area_code(number)
    if area_len:
        area, local = national[:area_len], national[area_len:]
        return f"0{area}-{_group_local(local)}"
    return str(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))


def _group_local(local: str) -> str:
    """Split a landline subscriber number as agents say it: 6512 3456, 651 2345."""
    if len(local) == 8:
        return f"{local[:4]} {local[4:]}"
    if len(local) == 7:
        return f"{local[:3]} {local[3:]}"
    return local


def _is_canonical(value: str) -> bool:
    return bool(re.fullmatch(r"\+[1-9]\d{6,14}", value)) or (
        value.isdigit() and len(value) <= _MAX_SHORT_NUMBER_LEN
    )


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def phone_lines(phones: Mapping[str, str]) -> list[tuple[str, str]]:
    """A department's phones by role as ``(label, number)`` to show, each number once with the
    labels of the roles that share it: ``{"hotline": "96069", "transfer": "96069"}`` →
    ``[("电话/转接", "96069")]``.

    Numbers that differ only in spacing or dashes (010-6512 0000, 01065120000) are one number,
    shown as first written; empty ones are left out; the order is that of the roles.
    """
    lines: dict[str, tuple[list[str], str]] = {}
    for role, number in phones.items():
        shown = number.strip()
        if not shown:
            continue
        key = _SEPARATORS.sub("", unicodedata.normalize("NFKC", shown))
        lines.setdefault(key, ([], shown))[0].append(PHONE_ROLES.get(role, role))
    return [("/".join(labels), shown) for labels, shown in lines.values()]
