"""Fixed-width text edits that keep a line's length, as nvidia-smi's tables need."""
import re


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


def replace_number(line: str, pattern: str, value: str, group: int = 1) -> str:
    """Right-aligned replacement of the `group` span of the first match of `pattern`."""
    match = re.search(pattern, line)
    return splice(line, match.start(group), match.end(group), value) if match else line
