"""The cells of one GPU's rows in the default `nvidia-smi` table, rewritten for the target.

A GPU's block is up to three lines: index, name, persistence | bus id, display | Volatile Uncorr. ECC;
fan .. power usage/cap | memory usage | GPU-Util, Compute M.; then (drivers 450+) | | | MIG M.
Every edit keeps the line's length and its '|' positions.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import List, Optional, Tuple

from .target import Target
from .text import digits_before, fit_left, splice, tokens


def cells(line: str) -> List[Tuple[int, int]]:
    """(start, end) of each cell's text between '|' characters."""
    bars, at = [], line.find("|")
    while at >= 0:
        bars.append(at)
        at = line.find("|", at + 1)
    return list(zip(bars, bars[1:]))


def _set_token(line: str, cell: int, which: int, value: str) -> str:
    """The line with token `which` (0 first, -1 last) of cell `cell` replaced, right-aligned."""
    spans = cells(line)
    if len(spans) <= cell:
        return line
    start, end = spans[cell]
    words = tokens(line[start + 1:end])
    if not words:
        return line
    a, b = words[which]
    return splice(line, start + 1 + a, start + 1 + b, value)


def _token(line: str, cell: int, which: int) -> Optional[str]:
    spans = cells(line)
    if len(spans) <= cell:
        return None
    words = line[spans[cell][0] + 1:spans[cell][1]].split()
    return words[which] if words else None


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


def ecc_cell(host: str, target: Target, slice_errors: Optional[str]) -> str:
    """The Volatile Uncorr. ECC value: N/A for a target without ECC (as a GeForce prints it); for one
    with ECC the MIG slice's own count where the GPU is a slice (the host's cell then reads "On"),
    "Off" (supported, disabled) on a host without ECC; else the host's."""
    if target.has_ecc is False:
        return "N/A"
    if target.has_ecc and slice_errors is not None and slice_errors.isdigit():
        return slice_errors
    if target.has_ecc and host == "N/A":
        return "Off"
    return host


def mig_cell(host: str, target: Target) -> str:
    """MIG M.: N/A for a target without MIG, Disabled for a MIG-capable one (the target is never
    partitioned); unknown (None): an Enabled host reads Disabled, anything else stays."""
    if target.mig_capable is False:
        return "N/A" if host in ("Enabled", "Disabled", "N/A") else host
    if target.mig_capable or host == "Enabled":
        return "Disabled" if host in ("Enabled", "Disabled", "N/A") else host
    return host


def rewrite_identity(line: str, target: Target, index: int, slice_errors: Optional[str]) -> str:
    spans = cells(line)
    if not spans:
        return line
    start, end = spans[0]
    found = _identity_spans(line[start + 1:end])
    if not found:
        return line
    offset, name, spaces, persistence = found
    name_start = start + 1 + offset
    # nvidia-smi keeps up to two spaces before the persistence column.
    width = name + spaces - (min(2, spaces) if persistence else 0)
    line = line[:name_start] + fit_left(target.name, width) + line[name_start + width:]
    line = _set_token(line, 0, 0, str(index))
    ecc = _token(line, 2, -1)
    if ecc is not None:
        line = _set_token(line, 2, -1, ecc_cell(ecc, target, slice_errors))
    return line


def rewrite_usage(line: str, target: Target, slice_used: Optional[int]) -> str:
    spans = cells(line)
    if len(spans) < 2:
        return line
    (p_start, p_end), (m_start, m_end) = spans[0], spans[1]
    if target.tdp_w:
        cap = _power_cap_span(line[p_start + 1:p_end])
        if cap:
            line = splice(line, p_start + 1 + cap[0], p_start + 1 + cap[1], "{}W".format(target.tdp_w))
    memory = line[m_start + 1:m_end]
    total = str(target.vram_mib)
    total_span = _memory_total_span(memory)
    if total_span:
        memory = splice(memory, total_span[0], total_span[1], total)
        used_end = memory.find("MiB")
        if slice_used is not None:
            memory = splice(memory, digits_before(memory, used_end), used_end, str(slice_used))
    elif memory.strip() == "N/A":
        text = "{}MiB / {}MiB ".format(slice_used or 0, total)
        memory = text.rjust(len(memory)) if len(text) <= len(memory) else memory
    line = line[:m_start + 1] + memory + line[m_end:]
    # In MIG mode the host has no utilisation for the whole GPU; a GPU without MIG always shows a %.
    if _token(line, 2, 0) == "N/A":
        line = _set_token(line, 2, 0, "0%")
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


def rewrite_mig_mode(line: str, target: Target) -> str:
    mode = _token(line, 2, -1)
    return line if mode is None else _set_token(line, 2, -1, mig_cell(mode, target))


def rewrite_block(block: List[str], target: Target, index: int, mig_slice: Optional[tuple]) -> List[str]:
    """One GPU's lines as target GPU `index`; `mig_slice` is the MIG device row it stands for
    (gpu, gi, ci, memory used in MiB, its volatile uncorrected ECC count), else None."""
    out = list(block)
    if out:
        out[0] = rewrite_identity(out[0], target, index, mig_slice[4] if mig_slice else None)
    if len(out) > 1:
        out[1] = rewrite_usage(out[1], target, mig_slice[3] if mig_slice else None)
    if len(out) > 2:
        out[2] = rewrite_mig_mode(out[2], target)
    return out
