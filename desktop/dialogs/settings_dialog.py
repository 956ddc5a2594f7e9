"""设置: the seat's settings (``huiyin.ini``), edited outside a call.

The connection test runs on the read pool (``KnowledgeBase.probe(url)``, which creates nothing;
close), so an unreachable database server never freezes the window. A changed
database takes effect at the next start; the rest applies at once.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.tasks import Op, TaskManager
from kb.errors import KbError
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from kb.settings import Settings
from kb.vocab import ROLES

FONT_MIN, FONT_MAX = 9, 22


class SettingsDialog(QDialog):
    """Edits a :class:`Settings`; ``result_settings()`` gives the edited copy after ``accept``."""

    def __init__(self, settings: Settings, paths: AppPaths, tasks: TaskManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("设置")
        self.settings = settings
        self.paths = paths
        self.tasks = tasks

        self.database_url = QLineEdit(settings.database_url)
        self.database_url.setPlaceholderText("留空：本机内置数据库（SQLite）")
        self.database_url.setAccessibleName("数据库地址")
        self.database_url.setToolTip("共享数据库示例：postgresql+psycopg://用户@服务器/huiyin")
        self.test_button = QPushButton("测试连接")
        self.test_button.setAccessibleName("测试数据库连接")
        self.test_result = QLabel()
        self.test_result.setObjectName("hintLabel")
        self.test_result.setWordWrap(True)
        self.restart_note = QLabel()
        self.restart_note.setObjectName("fieldError")
        self.restart_note.setWordWrap(True)
        self.seat = QLineEdit(settings.seat)
        self.seat.setAccessibleName("坐席号")
        self.seat.setPlaceholderText("例如 A07")
        self.user = QLineEdit(settings.user)
        self.user.setAccessibleName("用户")
        self.user.setPlaceholderText(f"留空：使用系统用户名（{Settings().user_name}）")
        self.role = QComboBox()
        self.role.setAccessibleName("角色")
        for code, label in ROLES.items():
            self.role.addItem(label, code)
        self.role.setCurrentIndex(max(self.role.findData(settings.role), 0))
        self.font_size = QSpinBox()
        self.font_size.setAccessibleName("字号")
        self.font_size.setRange(FONT_MIN, FONT_MAX)
        self.font_size.setValue(settings.font_size)
        self.font_size.setSuffix(" 磅")
        self.high_contrast = QCheckBox("白字黑底、黄色焦点框（Ctrl+Shift+H 随时切换）")
        self.high_contrast.setAccessibleName("高对比度主题")
        self.high_contrast.setChecked(settings.theme == "high_contrast")

        db_row = QHBoxLayout()
        db_row.addWidget(self.database_url, 1)
        db_row.addWidget(self.test_button)
        form = QFormLayout()
        form.addRow("数据库(&D)：", db_row)
        form.addRow("", self.test_result)
        form.addRow("", self.restart_note)
        form.addRow("坐席号(&S)：", self.seat)
        form.addRow("用户(&U)：", self.user)
        form.addRow("角色(&R)：", self.role)
        form.addRow("字号(&F)：", self.font_size)
        form.addRow("高对比度(&H)：", self.high_contrast)
        db_label = form.labelForField(db_row)
        if isinstance(db_label, QLabel):
            db_label.setBuddy(self.database_url)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        hint = QLabel(f"设置文件：{paths.config_file}")
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self.test_button.clicked.connect(self.test_connection)
        self.database_url.textChanged.connect(self._url_changed)
        self.database_url.setFocus()

    # ---------------------------------------------------------------- values
    def result_settings(self) -> Settings:
        return replace(self.settings, database_url=self.database_url.text().strip(), seat=self.seat.text().strip(),
                       user=self.user.text().strip(), role=str(self.role.currentData()),
                       font_size=self.font_size.value(),
                       theme="high_contrast" if self.high_contrast.isChecked() else "default")

    @property
    def database_changed(self) -> bool:
        return self.database_url.text().strip() != self.settings.database_url

    def _url_changed(self, _text: str) -> None:
        self.tasks.invalidate("settings-test")
        self.test_result.setText("")
        self.restart_note.setText("更改数据库后需要重新启动回音才会生效" if self.database_changed else "")

    # ------------------------------------------------------------ connection
    def test_connection(self) -> None:
        url = self.result_settings().resolved_database_url(self.paths)
        self.test_result.setText("正在连接…")
        self.test_button.setEnabled(False)

        def probe() -> str | None:
            return KnowledgeBase.probe(url)  # creates nothing: the schema is made on the next start

        def shown(revision: str | None) -> None:
            self.test_result.setText(f"连接成功（数据库版本 {revision}）" if revision
                                     else "连接成功：空数据库，重启后将自动建表")

        Op(self.tasks, self, probe).key("settings-test") \
            .success(shown) \
            .failure(self._test_failed) \
            .finally_(lambda: self.test_button.setEnabled(True)).run()

    def _test_failed(self, exc: BaseException) -> None:
        # The raw reason helps whoever sets up the shared database (host, password, driver).
        reason = str(exc) if isinstance(exc, KbError) else f"{type(exc).__name__}: {exc}"
        self.test_result.setText(f"连接失败：{reason}")
