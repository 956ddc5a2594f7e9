"""Domain errors → Chinese messages an agent can act on (the GUI edge, pattern P12)."""

from __future__ import annotations

from indexer.errors import IndexCorrupt, SearchIndexError
from kb.errors import ConflictError, KbError, NotFound, StorageError, ValidationError

# Work-order fields (kb's ValidationError.field) → form fields of the call form.
FIELD_LABELS = {
    "text": "诉求内容", "phone": "来电号码", "request_type": "诉求类型", "handling": "办理方式",
    "department": "承办单位", "due_at": "办理时限", "address": "地址", "entry": "口径",
    "urgency": "紧急程度", "id": "工单编号",
}


def is_known(exc: BaseException) -> bool:
    """A condition of the environment or of the input, not a bug (no crash dialog)."""
    return isinstance(exc, KbError | SearchIndexError | OSError)


def user_message(exc: BaseException) -> str:
    """One line of Chinese for the status bar or an inline message."""
    if isinstance(exc, ValidationError):
        label = FIELD_LABELS.get(exc.field, "")
        return f"{label}：{exc.reason}" if label else str(exc)
    if isinstance(exc, ConflictError):
        return f"{exc}，请刷新后再改"
    if isinstance(exc, NotFound):
        return f"未找到：{exc}"
    if isinstance(exc, StorageError):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return "知识库文件被占用，请关闭其他窗口后重试（工单已暂存，会自动重试）"
        if "disk" in text or "full" in text:
            return "磁盘空间不足，工单已暂存在本机，请联系管理员"
        return "数据库暂时无法访问，工单已暂存在本机，会自动重试"
    if isinstance(exc, IndexCorrupt):
        return "搜索索引损坏，正在从数据库重建，请稍候"
    if isinstance(exc, SearchIndexError):
        return f"搜索暂时不可用：{exc}"
    if isinstance(exc, KbError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"没有权限写入文件：{exc.filename}"
    if isinstance(exc, OSError):
        return f"文件读写失败：{exc.strerror or exc}"
    return "暂时不可用（内部错误，已记录日志）"


def is_retryable(exc: BaseException) -> bool:
    """A save that failed for environmental reasons: keep it in the outbox and retry."""
    return isinstance(exc, StorageError | OSError)
