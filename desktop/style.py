"""The application style sheet: ``resources/styles/app.qss`` plus the font sizes of the user setting.

Font sizes live in the style sheet (not in ``setFont``) because widgets polished
by a style sheet stop inheriting font changes from their parents.
"""

from __future__ import annotations

from kb.resources import resource_path

SCRIPT_SCALE = 1.45
TITLE_SCALE = 1.2
ALERT_HEADLINE_SCALE = 1.5
ALERT_SCRIPT_SCALE = 1.15


def base_stylesheet() -> str:
    path = resource_path("styles/app.qss")
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def font_rules(size: int) -> str:
    def pt(scale: float) -> str:
        return f"{size * scale:.1f}pt"

    return (f"\nQWidget {{ font-size: {size}pt; }}\n"
            f"QTextBrowser#answerScript {{ font-size: {pt(SCRIPT_SCALE)}; }}\n"
            f"QLabel#answerTitle {{ font-size: {pt(TITLE_SCALE)}; font-weight: bold; }}\n"
            f"QLabel#alertHeadline {{ font-size: {pt(ALERT_HEADLINE_SCALE)}; font-weight: bold; }}\n"
            f"QLabel#alertScript {{ font-size: {pt(ALERT_SCRIPT_SCALE)}; }}\n")


def stylesheet(size: int = 11) -> str:
    return base_stylesheet() + font_rules(size)
