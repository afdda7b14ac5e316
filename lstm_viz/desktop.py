"""``lstm-viz --install-desktop``: a freedesktop menu entry and icon for this user.

Writes ``lstm-viz.desktop`` to ``$XDG_DATA_HOME/applications`` and the icon to
``$XDG_DATA_HOME/icons/hicolor/scalable/apps`` (``~/.local/share`` by default), so the
desktop's application menu lists lstm-viz and starts the installed command.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENTRY = """[Desktop Entry]
Type=Application
Name=lstm-viz
GenericName=LSTM visualiser
Comment=See inside an LSTM: every gate and memory cell, step by step
Exec={exec} %f
Icon=lstm-viz
Terminal=false
Categories=Education;Science;Development;
MimeType=text/csv;text/tab-separated-values;
StartupWMClass=lstm_viz
"""


def _command() -> str:
    """The installed ``lstm-viz`` script next to this Python, else ``python -m lstm_viz``."""
    script = Path(sys.executable).with_name("lstm-viz")
    if script.exists():
        return _quote(str(script))
    found = shutil.which("lstm-viz")
    return _quote(found) if found else f"{_quote(sys.executable)} -m lstm_viz"


def _quote(path: str) -> str:
    return f'"{path}"' if any(c in path for c in " \t\"'\\$`") else path


def install_desktop_entry(data_home: str | os.PathLike | None = None) -> list[Path]:
    from lstm_viz.workbench.resources import resource

    home = Path(data_home or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    entry = home / "applications" / "lstm-viz.desktop"
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / "lstm-viz.svg"
    entry.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(resource("icons", "lstm-viz.svg"), icon)
    entry.write_text(ENTRY.format(exec=_command()), encoding="utf-8")
    return [entry, icon]
