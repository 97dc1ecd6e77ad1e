"""Fixed-width text edits that keep a line's length, as nvidia-smi's tables need.

No `re` here or in the table rewriter: importing it costs more than a whole rewrite, on every
nvidia-smi call (S1 in npm run bench)."""


def fit_left(text: str, width: int) -> str:
    """Left-aligned in `width` columns; too long is cut with '...' the way nvidia-smi cuts names."""
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 3)] + "..." if width >= 3 else text[:width]


def splice(line: str, start: int, end: int, new: str) -> str:
    """Replaces line[start:end] with a right-aligned `new`, keeping the line's length: a shorter
    value is padded on its left; a longer one takes spaces from just before it (keeping one)."""
    old = line[start:end]
    if len(new) <= len(old):
        return line[:start] + new.rjust(len(old)) + line[end:]
    need = len(new) - len(old)
    spaces = len(line[:start]) - len(line[:start].rstrip(" "))
    take = min(need, max(0, spaces - 1))
    return line[: start - take] + new + line[end:] if take == need else line


def tokens(text: str) -> list:
    """(start, end) of each run of non-space characters."""
    spans, at = [], 0
    for word in text.split():
        start = text.find(word, at)
        at = start + len(word)
        spans.append((start, at))
    return spans


def leading_int(text: str):
    """The number `text` starts with (after spaces) when whitespace follows it, else None."""
    stripped = text.lstrip()
    digits = len(stripped) - len(stripped.lstrip("0123456789"))
    if digits == 0 or digits == len(stripped) or not stripped[digits].isspace():
        return None
    return int(stripped[:digits])


def digits_before(text: str, end: int) -> int:
    """Where the run of digits ending at `end` starts (`end` itself when there is none)."""
    start = end
    while start > 0 and text[start - 1].isdigit():
        start -= 1
    return start
