"""The application style: ``resources/styles/app.qss`` filled with a theme's colours, plus the font sizes.

Font sizes live in the style sheet (not in ``setFont``) because widgets polished
by a style sheet stop inheriting font changes from their parents.

Two themes: ``default`` and ``high_contrast`` (white on black, yellow focus
rings), chosen in ``huiyin.ini`` (``[ui] theme``), in the settings or with
Ctrl+Shift+H. Both meet WCAG AA: 4.5:1 for text, 3:1 for borders and focus rings
(checked by tests/desktop/test_accessibility.py from the generated sheet).
Rich text painted by the list delegates and the answer script uses CSS classes
(:func:`rich_text_css`), so a theme change recolours them too.
"""

from __future__ import annotations

from functools import cache
from string import Template

from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import QApplication

from kb.resources import resource_path

SCRIPT_SCALE = 1.45
TITLE_SCALE = 1.2
ALERT_HEADLINE_SCALE = 1.5
ALERT_SCRIPT_SCALE = 1.15

THEME_LABELS = {"default": "标准", "high_contrast": "高对比度"}

THEMES: dict[str, dict[str, str]] = {
    "default": {
        "window": "#f4f6f9", "base": "#ffffff", "alt_base": "#f3f5f8", "text": "#111111", "hint": "#5a6472",
        "placeholder": "#626b78", "border": "#7d8796", "focus": "#1b6fd8", "disabled": "#6b7280",
        "disabled_border": "#b7bec8", "button": "#f7f8fa", "button_hover": "#e8edf4",
        "heading": "#1f3b5c", "title": "#10243a", "error": "#c40000",
        "caller_bg": "#1f3b5c", "caller_border": "#12263d", "caller_text": "#ffffff", "caller_place": "#cfe0f5",
        "caller_input_border": "#8fa6c1", "caller_focus": "#ffd24d",
        "repeat_badge_bg": "#ff9f1a", "repeat_badge_text": "#1a1a1a",
        "alert_border": "#7a0000", "danger_bg": "#c40000", "risk_bg": "#b35900", "alert_text": "#ffffff",
        "restore_bg": "#fff4cc", "restore_border": "#9a7b1c",
        "item_sep": "#eef1f5", "selection_bg": "#dbe9ff", "selection_text": "#000000",
        "script_bg": "#fffdf5", "script_border": "#8f7420", "script_text": "#111111",
        "badge_valid_bg": "#187a34", "badge_valid_text": "#ffffff",
        "badge_expiring_bg": "#f29900", "badge_expiring_text": "#1a1a1a",
        "badge_expired_bg": "#6b6b6b", "badge_expired_text": "#ffffff",
        "repeat_bg": "#fff3e0", "repeat_border": "#b06a00", "repeat_heading": "#8a4b00",
        "status_bg": "#e6eaf0", "status_border": "#7d8796", "status_text": "#2b3440", "outbox": "#8f5200",
        # rich text (rich_text_css): list rows, the answer script
        "key": "#1f5fbf", "dim": "#555555", "pin": "#c40000", "new": "#16722f", "changed": "#1f5fbf",
        "withdrawn": "#5f5f5f", "state": "#8a5000", "warn": "#8a5000", "hit_bg": "#ffe58a", "hit_text": "#000000",
        # table cells (themed_brush): inactive rows' text, the backgrounds of rows to check or fix
        "inactive": "#5f6670", "stale_bg": "#ffe9c7", "bad_bg": "#ffd9d9",
    },
    "high_contrast": {
        "window": "#000000", "base": "#000000", "alt_base": "#1a1a1a", "text": "#ffffff", "hint": "#e6e6e6",
        "placeholder": "#c8c8c8", "border": "#ffffff", "focus": "#ffff00", "disabled": "#a0a0a0",
        "disabled_border": "#808080", "button": "#000000", "button_hover": "#1a1a66",
        "heading": "#ffff00", "title": "#ffffff", "error": "#ff7070",
        "caller_bg": "#000000", "caller_border": "#ffffff", "caller_text": "#ffffff", "caller_place": "#ffffff",
        "caller_input_border": "#ffffff", "caller_focus": "#ffff00",
        "repeat_badge_bg": "#ffb000", "repeat_badge_text": "#000000",
        "alert_border": "#ffffff", "danger_bg": "#c40000", "risk_bg": "#8a4500", "alert_text": "#ffffff",
        "restore_bg": "#000000", "restore_border": "#ffff00",
        "item_sep": "#808080", "selection_bg": "#002b66", "selection_text": "#ffffff",
        "script_bg": "#000000", "script_border": "#ffffff", "script_text": "#ffffff",
        "badge_valid_bg": "#00e676", "badge_valid_text": "#000000",
        "badge_expiring_bg": "#ffb000", "badge_expiring_text": "#000000",
        "badge_expired_bg": "#c0c0c0", "badge_expired_text": "#000000",
        "repeat_bg": "#000000", "repeat_border": "#ffb000", "repeat_heading": "#ffb000",
        "status_bg": "#000000", "status_border": "#ffffff", "status_text": "#ffffff", "outbox": "#ffb000",
        "key": "#00e5ff", "dim": "#d0d0d0", "pin": "#ff7070", "new": "#00e676", "changed": "#00e5ff",
        "withdrawn": "#c0c0c0", "state": "#ffb000", "warn": "#ffb000", "hit_bg": "#ffff00", "hit_text": "#000000",
        "inactive": "#b0b0b0", "stale_bg": "#4d3300", "bad_bg": "#5c0000",
    },
}

# CSS classes of the rich text in lists and the answer script; each takes the theme colour of its name.
RICH_TEXT_CLASSES = ("key", "dim", "pin", "new", "changed", "withdrawn", "state", "warn")

_current = "default"
_native: tuple[str, QPalette] | None = None  # the platform's style and palette, for the default theme
_brushes: dict[str, QBrush] = {}


def themed_brush(role: str) -> QBrush:
    """One brush per colour role, recoloured in place when the theme changes (for table cells)."""
    if role not in _brushes:
        _brushes[role] = QBrush(QColor(color(role)))
    return _brushes[role]


def current_theme() -> str:
    return _current


def color(role: str, theme: str | None = None) -> str:
    """A colour of the current (or the given) theme, e.g. ``color("warn")``."""
    return THEMES[theme or _current][role]


def base_stylesheet(theme: str = "default") -> str:
    """The theme's style sheet without font sizes (``$names`` filled in)."""
    names = ["styles/app.qss"] + (["styles/high_contrast.qss"] if theme == "high_contrast" else [])
    parts = []
    for name in names:
        path = resource_path(name)
        if path.is_file():
            parts.append(Template(path.read_text(encoding="utf-8")).substitute(THEMES[theme]))
    return "\n".join(parts)


def font_rules(size: int) -> str:
    def pt(scale: float) -> str:
        return f"{size * scale:.1f}pt"

    return (f"\nQWidget {{ font-size: {size}pt; }}\n"
            f"QTextBrowser#answerScript {{ font-size: {pt(SCRIPT_SCALE)}; }}\n"
            f"QLabel#answerTitle {{ font-size: {pt(TITLE_SCALE)}; font-weight: bold; }}\n"
            f"QLabel#alertHeadline {{ font-size: {pt(ALERT_HEADLINE_SCALE)}; font-weight: bold; }}\n"
            f"QLabel#alertScript {{ font-size: {pt(ALERT_SCRIPT_SCALE)}; }}\n")


def stylesheet(size: int = 11, theme: str | None = None) -> str:
    return base_stylesheet(theme or _current) + font_rules(size)


def rich_text_css(theme: str | None = None) -> str:
    """The default style sheet of rich-text documents (list rows, the answer script)."""
    return _rich_text_css(theme or _current)


@cache
def _rich_text_css(theme: str) -> str:
    c = THEMES[theme]
    rules = [f".{cls} {{ color: {c[cls]}; }}" for cls in RICH_TEXT_CLASSES]
    rules.append(".pin, .new, .changed, .withdrawn { font-weight: bold; }")
    rules.append(f".hit {{ background-color: {c['hit_bg']}; color: {c['hit_text']}; font-weight: bold; }}")
    return "\n".join(rules)


def palette(theme: str) -> QPalette:
    """The high-contrast palette: what no style-sheet rule names (scroll bars, tab pages, viewports)."""
    c = THEMES[theme]
    pal = QPalette()
    roles = QPalette.ColorRole
    for role, name in ((roles.Window, "window"), (roles.WindowText, "text"), (roles.Base, "base"),
                       (roles.AlternateBase, "alt_base"), (roles.Text, "text"), (roles.Button, "button"),
                       (roles.ButtonText, "text"), (roles.Highlight, "selection_bg"),
                       (roles.HighlightedText, "selection_text"), (roles.PlaceholderText, "placeholder"),
                       (roles.ToolTipBase, "base"), (roles.ToolTipText, "text"), (roles.Link, "key"),
                       (roles.BrightText, "focus"), (roles.Light, "border"), (roles.Mid, "item_sep"),
                       (roles.Dark, "item_sep"), (roles.Shadow, "border")):
        pal.setColor(role, QColor(c[name]))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(c["disabled"]))
    return pal


def apply(app: QApplication, size: int, theme: str) -> None:
    """Theme and font size for the whole application (re-polishing is slow: only what changed).

    The high-contrast theme runs on the Fusion style, which paints with the palette on
    every platform; the default theme keeps the platform's style and palette.
    """
    global _current, _native
    if theme not in THEMES:
        theme = "default"
    if _native is None:  # before the first style sheet: a style-sheet style has no name
        _native = (app.style().name(), QPalette(app.palette()))
    native_style, native_palette = _native
    if theme != _current:
        if theme == "high_contrast":
            if native_style and native_style.lower() != "fusion":
                app.setStyle("Fusion")
            app.setPalette(palette(theme))
        else:
            if native_style and native_style.lower() != "fusion":
                app.setStyle(native_style)
            app.setPalette(native_palette)
    _current = theme
    for role, brush in _brushes.items():
        brush.setColor(QColor(color(role)))
    sheet = stylesheet(size, theme)
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
