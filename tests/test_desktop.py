"""lstm-viz --install-desktop: a freedesktop entry and the icon, for this user."""

import configparser
import sys

from lstm_viz.cli import main


def test_the_desktop_entry_starts_the_installed_command_with_its_icon(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["--install-desktop"]) == 0
    entry = tmp_path / "applications" / "lstm-viz.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "lstm-viz.svg"
    assert f"wrote {entry}" in capsys.readouterr().out
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(entry)
    desktop = parsed["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Icon"] == "lstm-viz" and desktop["Terminal"] == "false"
    command = desktop["Exec"].removesuffix(" %f")
    assert command.endswith("lstm-viz") or command.endswith(f"{sys.executable} -m lstm_viz")
    assert icon.read_text(encoding="utf-8").startswith("<svg")


def test_the_window_uses_the_icon(qtbot):
    from lstm_viz.ui.style import app_icon

    icon = app_icon()
    assert not icon.isNull() and icon.pixmap(64, 64).width() == 64
