"""Character classes that Python's ``re`` lacks (it has no ``\\p{Lu}``).

Speaker labels and name parts start with a capital in any script: "Łukasz", "Şule", "Đorđe",
"Øystein" are as much names as "Lisa". A hand-written range such as ``A-ZÀ-Þ`` stops at
Latin-1; this class is built from Unicode's own data, once, at import.
"""

from __future__ import annotations

import sys


def _ranges(predicate) -> str:
    """A character-class body (no brackets) for every BMP code point ``predicate`` accepts."""
    pieces, start, previous = [], None, None
    for code in range(min(sys.maxunicode, 0xFFFF) + 1):
        if predicate(chr(code)):
            if start is None:
                start = code
            previous = code
        elif start is not None:
            pieces.append(_escaped(start) if start == previous else f"{_escaped(start)}-{_escaped(previous)}")
            start = None
    if start is not None:
        pieces.append(f"{_escaped(start)}-{_escaped(previous)}")
    return "".join(pieces)


def _escaped(code: int) -> str:
    return f"\\u{code:04x}"


UPPER = _ranges(lambda char: char.isupper() or char.istitle())  # Lu and Lt
LOWER = _ranges(lambda char: char.islower())  # Ll
