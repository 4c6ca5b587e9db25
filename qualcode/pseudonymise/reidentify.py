"""Re-identification, for the researcher who holds the key: pseudonyms back to originals.

Only pseudonyms that stand for one original can be restored (people, organisations and places
numbered by qualcode); generic replacements such as ``[phone]`` or ``[police officer]`` stay.
The result holds originals, so it is written inside the key's own secure folder and nowhere else.
A file the key did not make (another study's, checked by the key's corpus fingerprint) is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import QualcodeError
from ..fsutil import is_within, write_secure_text
from ..ingest.text import match_label, read_text
from .key import PseudonymKey

_BRACKETED = re.compile(r"\[([^\[\]\n]{1,80})\]")


def reidentify_text(text: str, key: PseudonymKey) -> str:
    """Restore bracketed pseudonyms and speaker labels that the key can map back."""
    def restore(match: re.Match) -> str:
        return key.originals.get(match.group(1), match.group(0))

    lines = []
    for line in _BRACKETED.sub(restore, text).split("\n"):
        label = match_label(line)
        if label is not None and label.group("label") in key.originals:
            start, end = label.span("label")
            line = line[:start] + key.originals[label.group("label")] + line[end:]
        lines.append(line)
    return "\n".join(lines)


def run_reidentify(path: Path, key_path: Path, out: Path | None, passphrase: str | None) -> Path:
    key_path = Path(key_path)
    if not key_path.exists():
        raise QualcodeError("key not found", key_path)
    secure = key_path.parent
    target = Path(out) if out else secure / "reidentified" / Path(path).name
    if not is_within(target, secure):
        raise QualcodeError(f"re-identified text holds originals: write it inside {secure}", target)
    key = PseudonymKey.load(key_path, passphrase)
    text, _encoding = read_text(Path(path))
    if not key.made(text, Path(path).resolve().parent):
        raise QualcodeError("this key did not pseudonymise this file (corpus fingerprint mismatch): use the "
                            "key of the study it came from; nothing was written", path)
    write_secure_text(target, reidentify_text(text, key))
    return target
