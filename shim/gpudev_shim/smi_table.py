"""Rewrites the default `nvidia-smi` table (drivers 450 to 610+) to show the target GPU.

Every kept line keeps its length and its '|' positions. The name, memory total, power cap and
MIG mode change; used memory, utilisation, clocks and processes stay real. The "MIG devices"
section is removed, and GI/CI ids of processes read N/A, as on a GPU without MIG.
"""
import re
from typing import Dict, List, Optional, Tuple

from .target import Target
from .text import fit_left, replace_number, splice

GPU_HEADER = re.compile(r"^\|\s*GPU\s+Name\b")
RULE = re.compile(r"^\|=+")
MIG_TITLE = re.compile(r"^\|\s*MIG devices:")
PROCESS_TITLE = re.compile(r"^\|\s*Processes:")


def _is_table(line: str) -> bool:
    return line.startswith("|") or line.startswith("+")


def _cells(line: str) -> List[Tuple[int, int]]:
    """(start, end) of each cell's text between '|' characters."""
    bars = [i for i, ch in enumerate(line) if ch == "|"]
    return list(zip(bars, bars[1:]))


def _rule_after(lines: List[str], start: int) -> Optional[int]:
    for i in range(start + 1, len(lines)):
        if RULE.match(lines[i]):
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
    title = next((i for i, line in enumerate(lines) if MIG_TITLE.match(line)), None)
    if title is None:
        return None
    start = title - 1 if title > 0 and lines[title - 1].startswith("+") else title
    end = _table_end(lines, title)
    used: Dict[int, int] = {}
    for line in lines[title:end]:
        match = re.match(r"^\|\s*(\d+)\s+\d+\s+\d+\s+\d+\s*\|\s*(\d+)MiB\s*/", line)
        if match:
            used[int(match.group(1))] = used.get(int(match.group(1)), 0) + int(match.group(2))
    if end < len(lines) and lines[end].strip() == "" and start > 0 and lines[start - 1].strip() == "":
        end += 1
    return start, end, used


def _rewrite_identity(line: str, target: Target) -> str:
    (start, end) = _cells(line)[0]
    cell = line[start + 1:end]
    match = re.match(r"^(\s*\d+\s+)(.*?)(\s+)(On|Off|N/A)(\s*)$", cell) or re.match(r"^(\s*\d+\s+)(.*?)(\s*)()()$", cell)
    if not match:
        return line
    name_start = start + 1 + match.start(2)
    # nvidia-smi keeps up to two spaces before the persistence column.
    width = len(match.group(2)) + len(match.group(3)) - (min(2, len(match.group(3))) if match.group(4) else 0)
    return line[:name_start] + fit_left(target.name, width) + line[name_start + width:]


def _rewrite_usage(line: str, target: Target, gpu: int, mig_used: Dict[int, int]) -> str:
    cells = _cells(line)
    if len(cells) < 2:
        return line
    (p_start, p_end), (m_start, m_end) = cells[0], cells[1]
    if target.tdp_w:
        power = re.search(r"(\S+)(\s*/\s*)(\d+W)\s*$", line[p_start + 1:p_end])
        if power:
            line = splice(line, p_start + 1 + power.start(3), p_start + 1 + power.end(3), "{}W".format(target.tdp_w))
    memory = line[m_start + 1:m_end]
    total = str(target.vram_mib)
    if re.search(r"MiB\s*/\s*\d+MiB", memory):
        line = line[:m_start + 1] + replace_number(memory, r"/\s*(\d+)MiB", total) + line[m_end:]
    elif memory.strip() == "N/A":
        text = "{}MiB / {}MiB ".format(mig_used.get(gpu, 0), total)
        if len(text) <= len(memory):
            line = line[:m_start + 1] + text.rjust(len(memory)) + line[m_end:]
    return line


def _rewrite_mig_mode(line: str) -> str:
    cells = _cells(line)
    if len(cells) < 3:
        return line
    start, end = cells[2]
    match = re.search(r"(Enabled|Disabled)\s*$", line[start + 1:end])
    return splice(line, start + 1 + match.start(1), start + 1 + match.end(1), "Disabled") if match else line


def _rewrite_process(line: str) -> str:
    cells = _cells(line)
    if not cells:
        return line
    start, end = cells[0]
    match = re.match(r"^(\s*\d+\s+)(\d+)(\s+)(\d+)(\s+\d+\s)", line[start + 1:end])
    if not match:
        return line
    for group in (4, 2):  # right to left, so earlier positions stay valid
        line = splice(line, start + 1 + match.start(group), start + 1 + match.end(group), "N/A")
    return line


def rewrite_table(lines: List[str], target: Target) -> List[str]:
    """One frame of the default table, rewritten. Lines not understood pass through unchanged."""
    mig = _mig_section(lines)
    mig_used = mig[2] if mig else {}
    out = list(lines)
    header = next((i for i, line in enumerate(out) if GPU_HEADER.match(line)), None)
    rule = _rule_after(out, header) if header is not None else None
    if rule is not None:
        row, gpu = 0, -1
        for i in range(rule + 1, _table_end(out, rule + 1)):
            line = out[i]
            if line.startswith("+"):
                row = 0
                continue
            if row == 0:
                index = re.match(r"^\|\s*(\d+)\s", line)
                gpu = int(index.group(1)) if index else -1
                out[i] = _rewrite_identity(line, target)
            elif row == 1:
                out[i] = _rewrite_usage(line, target, gpu, mig_used)
            elif row == 2:
                out[i] = _rewrite_mig_mode(line)
            row += 1
    title = next((i for i, line in enumerate(out) if PROCESS_TITLE.match(line)), None)
    processes_rule = _rule_after(out, title) if title is not None else None
    if processes_rule is not None:
        for i in range(processes_rule + 1, _table_end(out, processes_rule + 1)):
            out[i] = _rewrite_process(out[i])
    if mig:
        del out[mig[0]:mig[1]]
    return out


def frame_ends(line: str, state: Dict[str, bool]) -> bool:
    """Streaming: True at the closing border of a Processes table (the end of one frame)."""
    if PROCESS_TITLE.match(line):
        state["processes"] = True
    elif state.get("processes") and RULE.match(line):
        state["rows"] = True
    elif state.get("rows") and line.startswith("+"):
        state.clear()
        return True
    return False
