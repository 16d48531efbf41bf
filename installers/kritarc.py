"""Turn a Krita Python plug-in on or off in kritarc, touching no other line.

kritarc is KConfig, not strict INI (configparser would rewrite keys and escapes), so this edits
text: the `enable_<name>` key of the [python] group.
"""
from __future__ import annotations

from pathlib import Path


def set_plugin_enabled(kritarc: Path, name: str, enabled: bool) -> None:
    key = f"enable_{name}"
    line = f"{key}={'true' if enabled else 'false'}"
    lines = kritarc.read_text(encoding="utf-8").splitlines() if kritarc.exists() else []
    group = None
    for index, text in enumerate(lines):
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if group == "[python]":  # the group ended without the key: add it after its last line
                while index > 0 and not lines[index - 1].strip():
                    index -= 1
                lines.insert(index, line)
                break
            group = stripped
        elif group == "[python]" and stripped.split("=", 1)[0].strip() == key:
            lines[index] = line
            break
    else:
        if group != "[python]":
            lines += ["", "[python]"] if lines else ["[python]"]
        lines.append(line)
    kritarc.parent.mkdir(parents=True, exist_ok=True)
    temporary = kritarc.with_name(kritarc.name + ".alphalift-tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(kritarc)
