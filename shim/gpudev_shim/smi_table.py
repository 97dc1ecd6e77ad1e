"""Rewrites the default `nvidia-smi` table (drivers 450 to 610+) to show the target GPU.

Every kept line keeps its length and its '|' positions. The name, memory total, power cap and
MIG mode change; used memory, utilisation, clocks and processes stay real. The "MIG devices"
section is removed, and GI/CI ids of processes read N/A, as on a GPU without MIG.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import Dict, List, Optional, Tuple

from .target import Target
from .text import digits_before, fit_left, leading_int, splice, tokens


def _titled(line: str, title: str) -> bool:
    return line.startswith("|") and line[1:].lstrip().startswith(title)


def _is_gpu_header(line: str) -> bool:
    return line.startswith("|") and line[1:].split()[:2] == ["GPU", "Name"]


def _is_rule(line: str) -> bool:
    return line.startswith("|=")


def _is_table(line: str) -> bool:
    return line.startswith("|") or line.startswith("+")


def _cells(line: str) -> List[Tuple[int, int]]:
    """(start, end) of each cell's text between '|' characters."""
    bars = [i for i, ch in enumerate(line) if ch == "|"]
    return list(zip(bars, bars[1:]))


def _rule_after(lines: List[str], start: int) -> Optional[int]:
    for i in range(start + 1, len(lines)):
        if _is_rule(lines[i]):
            return i
        if not _is_table(lines[i]):
            return None
    return None


def _table_end(lines: List[str], start: int) -> int:
    end = start
    while end < len(lines) and _is_table(lines[end]):
        end += 1
    return end


def _mig_section(lines: List[str]) -> Optional[Tuple[int, int, Dict[int, int]]]:
    """Lines [start, end) of the MIG devices section (its top border and the blank line after it
    included) and the memory used per parent GPU."""
    title = next((i for i, line in enumerate(lines) if _titled(line, "MIG devices:")), None)
    if title is None:
        return None
    start = title - 1 if title > 0 and lines[title - 1].startswith("+") else title
    end = _table_end(lines, title)
    used: Dict[int, int] = {}
    for line in lines[title:end]:
        row = _mig_row(line)
        if row:
            used[row[0]] = used.get(row[0], 0) + row[1]
    if end < len(lines) and lines[end].strip() == "" and start > 0 and lines[start - 1].strip() == "":
        end += 1
    return start, end, used


def _mig_row(line: str) -> Optional[Tuple[int, int]]:
    """A MIG device row's parent GPU and its memory used in MiB: `| 0  1  0  0 |  10MiB / ...`."""
    cells = line.split("|")
    if len(cells) < 3:
        return None
    ids, memory = cells[1].split(), cells[2].lstrip()
    mib = memory.find("MiB")
    used = memory[:mib] if mib > 0 else ""
    if len(ids) != 4 or not all(i.isdigit() for i in ids) or not used.isdigit():
        return None
    if not memory[mib + 3:].lstrip().startswith("/"):
        return None
    return int(ids[0]), int(used)


def _identity_spans(cell: str) -> Optional[Tuple[int, int, int, bool]]:
    """In a GPU's first cell (`  0  NVIDIA H100 80GB HBM3  On`): where the name starts, its length,
    the spaces after it, and whether a persistence-mode value follows."""
    words = tokens(cell)
    if not words or not cell[words[0][0]:words[0][1]].isdigit() or words[0][1] == len(cell):
        return None
    name_start = words[1][0] if len(words) > 1 else len(cell)
    persistence = len(words) > 2 and cell[words[-1][0]:words[-1][1]] in ("On", "Off", "N/A")
    before = cell[name_start:words[-1][0]] if persistence else cell[name_start:]
    name = before.rstrip()
    return name_start, len(name), len(before) - len(name), persistence


def _rewrite_identity(line: str, target: Target) -> str:
    (start, end) = _cells(line)[0]
    spans = _identity_spans(line[start + 1:end])
    if not spans:
        return line
    offset, name, spaces, persistence = spans
    name_start = start + 1 + offset
    # nvidia-smi keeps up to two spaces before the persistence column.
    width = name + spaces - (min(2, spaces) if persistence else 0)
    return line[:name_start] + fit_left(target.name, width) + line[name_start + width:]


def _rewrite_usage(line: str, target: Target, gpu: int, mig_used: Dict[int, int]) -> str:
    cells = _cells(line)
    if len(cells) < 2:
        return line
    (p_start, p_end), (m_start, m_end) = cells[0], cells[1]
    if target.tdp_w:
        cap = _power_cap_span(line[p_start + 1:p_end])
        if cap:
            line = splice(line, p_start + 1 + cap[0], p_start + 1 + cap[1], "{}W".format(target.tdp_w))
    memory = line[m_start + 1:m_end]
    total = str(target.vram_mib)
    total_span = _memory_total_span(memory)
    if total_span:
        line = line[:m_start + 1] + splice(memory, total_span[0], total_span[1], total) + line[m_end:]
    elif memory.strip() == "N/A":
        text = "{}MiB / {}MiB ".format(mig_used.get(gpu, 0), total)
        if len(text) <= len(memory):
            line = line[:m_start + 1] + text.rjust(len(memory)) + line[m_end:]
    return line


def _power_cap_span(cell: str) -> Optional[Tuple[int, int]]:
    """The cap's digits (its W included) in `  70W /  700W ` (the usage before the slash may read N/A)."""
    text = cell.rstrip()
    if not text.endswith("W"):
        return None
    start = digits_before(text, len(text) - 1)
    before = text[:start].rstrip()
    if start == len(text) - 1 or not before.endswith("/") or not before[:-1].rstrip():
        return None
    return start, len(text)


def _memory_total_span(cell: str) -> Optional[Tuple[int, int]]:
    """The total's digits in `  1234MiB /  81559MiB `."""
    slash = cell.find("/")
    if slash < 0 or not cell[:slash].rstrip().endswith("MiB"):
        return None
    after = cell[slash + 1:]
    start = slash + 1 + len(after) - len(after.lstrip())
    mib = cell.find("MiB", start)
    if mib <= start or digits_before(cell, mib) != start:
        return None
    return start, mib


def _rewrite_mig_mode(line: str) -> str:
    cells = _cells(line)
    if len(cells) < 3:
        return line
    start, end = cells[2]
    text = line[start + 1:end].rstrip()
    for mode in ("Enabled", "Disabled"):
        if text.endswith(mode):
            at = start + 1 + len(text) - len(mode)
            return splice(line, at, at + len(mode), "Disabled")
    return line


def _rewrite_process(line: str) -> str:
    cells = _cells(line)
    if not cells:
        return line
    start, end = cells[0]
    cell = line[start + 1:end]
    words = tokens(cell)
    # GPU, GI, CI and PID: numbers, the PID followed by a space.
    if len(words) < 4 or not all(cell[a:b].isdigit() for a, b in words[:4]) or words[3][1] == len(cell):
        return line
    for a, b in (words[2], words[1]):  # right to left, so earlier positions stay valid
        line = splice(line, start + 1 + a, start + 1 + b, "N/A")
    return line


def rewrite_table(lines: List[str], target: Target) -> List[str]:
    """One frame of the default table, rewritten. Lines not understood pass through unchanged."""
    mig = _mig_section(lines)
    mig_used = mig[2] if mig else {}
    out = list(lines)
    header = next((i for i, line in enumerate(out) if _is_gpu_header(line)), None)
    rule = _rule_after(out, header) if header is not None else None
    if rule is not None:
        row, gpu = 0, -1
        for i in range(rule + 1, _table_end(out, rule + 1)):
            line = out[i]
            if line.startswith("+"):
                row = 0
                continue
            if row == 0:
                index = leading_int(line[1:])
                gpu = index if index is not None else -1
                out[i] = _rewrite_identity(line, target)
            elif row == 1:
                out[i] = _rewrite_usage(line, target, gpu, mig_used)
            elif row == 2:
                out[i] = _rewrite_mig_mode(line)
            row += 1
    title = next((i for i, line in enumerate(out) if _titled(line, "Processes:")), None)
    processes_rule = _rule_after(out, title) if title is not None else None
    if processes_rule is not None:
        for i in range(processes_rule + 1, _table_end(out, processes_rule + 1)):
            out[i] = _rewrite_process(out[i])
    if mig:
        del out[mig[0]:mig[1]]
    return out


def frame_ends(line: str, state: Dict[str, bool]) -> bool:
    """Streaming: True at the closing border of a Processes table (the end of one frame)."""
    if _titled(line, "Processes:"):
        state["processes"] = True
    elif state.get("processes") and _is_rule(line):
        state["rows"] = True
    elif state.get("rows") and line.startswith("+"):
        state.clear()
        return True
    return False
