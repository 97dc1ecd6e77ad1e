"""Rewrites the default `nvidia-smi` table (drivers 450 to 610+) to show the target GPUs.

Target GPU i is the i-th visible unit: a MIG device where the host GPU is partitioned (its parent's
rows stand for it, with the slice's memory use and ECC count), else the host GPU itself; the first
`target.count` units are shown, MIG slices numbered from 0. Every kept line keeps its length and its '|'
positions. Names, memory totals, power caps, ECC, GPU-Util (where the host has none) and MIG mode
follow the target; used memory, clocks, utilisation and processes stay real. The "MIG devices"
section is removed, and GI/CI ids of processes read N/A, as on a GPU without MIG.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import Dict, List, Optional, Tuple

from .smi_cells import cells, rewrite_block
from .target import Target
from .text import leading_int, splice, tokens


def _titled(line: str, title: str) -> bool:
    return line.startswith("|") and line[1:].lstrip().startswith(title)


def _is_gpu_header(line: str) -> bool:
    return line.startswith("|") and line[1:].split()[:2] == ["GPU", "Name"]


def _is_rule(line: str) -> bool:
    return line.startswith("|=")


def _is_table(line: str) -> bool:
    return line.startswith("|") or line.startswith("+")


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


def _mig_section(lines: List[str]) -> Optional[Tuple[int, int, List[tuple]]]:
    """Lines [start, end) of the MIG devices section (its top border and the blank line after it
    included) and its devices in order: (gpu, gi, ci, memory used in MiB, volatile uncorr. ECC)."""
    title = next((i for i, line in enumerate(lines) if _titled(line, "MIG devices:")), None)
    if title is None:
        return None
    start = title - 1 if title > 0 and lines[title - 1].startswith("+") else title
    end = _table_end(lines, title)
    devices = [row for row in (_mig_row(line) for line in lines[title:end]) if row]
    if end < len(lines) and lines[end].strip() == "" and start > 0 and lines[start - 1].strip() == "":
        end += 1
    return start, end, devices


def _mig_row(line: str) -> Optional[tuple]:
    """A MIG device row: `|  0    1   0   0  |  10MiB / 20096MiB | 42      0 | ...`."""
    parts = line.split("|")
    if len(parts) < 4:
        return None
    ids, memory = parts[1].split(), parts[2].lstrip()
    mib = memory.find("MiB")
    used = memory[:mib] if mib > 0 else ""
    if len(ids) != 4 or not all(i.isdigit() for i in ids) or not used.isdigit():
        return None
    if not memory[mib + 3:].lstrip().startswith("/"):
        return None
    sm_ecc = parts[3].split()
    return int(ids[0]), int(ids[1]), int(ids[2]), int(used), sm_ecc[-1] if len(sm_ecc) == 2 else None


def _blocks(lines: List[str], start: int, end: int) -> List[Tuple[List[str], str]]:
    """The GPU blocks between the header's rule and the table's end, each with the border after it."""
    blocks: List[Tuple[List[str], str]] = []
    block: List[str] = []
    for line in lines[start:end]:
        if line.startswith("+"):
            blocks.append((block, line))
            block = []
        else:
            block.append(line)
    if block:
        blocks.append((block, ""))
    return blocks


def _units(blocks: List[Tuple[List[str], str]], devices: List[tuple], slices: int) -> List[Tuple[int, Optional[tuple]]]:
    """(block, MIG device or None) per target GPU: a GPU's MIG devices, else the GPU itself. Where the
    table lists no MIG device but the container was given `slices` of them (NVIDIA_VISIBLE_DEVICES),
    each GPU stands for its share of them, in order, without a slice's own memory use or ECC count."""
    units: List[Tuple[int, Optional[tuple]]] = []
    for b, (block, _) in enumerate(blocks):
        gpu = leading_int(block[0][1:]) if block else None
        own = [d for d in devices if d[0] == gpu]
        units.extend((b, d) for d in own) if own else units.append((b, None))
    if not devices and units and slices > len(units) and slices % len(units) == 0:
        share = slices // len(units)
        units = [(b, (leading_int(blocks[b][0][0][1:]), -1, k, None, None)) for b, _ in units for k in range(share)]
    return units


def rewrite_table(lines: List[str], target: Target, slices: int = 0) -> List[str]:
    """One frame of the default table, rewritten (`slices`: how many MIG devices the container was
    given). Lines not understood pass through unchanged."""
    mig = _mig_section(lines)
    out = list(lines)
    header = next((i for i, line in enumerate(out) if _is_gpu_header(line)), None)
    rule = _rule_after(out, header) if header is not None else None
    shown: Optional[Dict[tuple, int]] = None
    if rule is not None:
        end = _table_end(out, rule + 1)
        blocks = _blocks(out, rule + 1, end)
        units = _units(blocks, mig[2] if mig else [], slices)[: target.count]
        if units:
            shown, rows = {}, []
            # A GPU keeps its index (a container's are 0..N-1; `-i 3` shows GPU 3); MIG slices are numbered.
            numbered = any(device for _, device in units)
            for position, (b, device) in enumerate(units):
                block, border = blocks[b]
                gpu = leading_int(block[0][1:]) if block else None
                index = position if numbered or gpu is None else gpu
                shown[(gpu,) + (device[1:3] if device else ())] = index
                if device and device[1] == -1:  # a slice without its row: the GPU's processes go to the first
                    shown.setdefault((gpu,), index)
                rows.extend(rewrite_block(block, target, index, device))
                rows.extend([border] if border else [])
            if blocks[-1][1] and rows[-1].startswith("+"):
                rows[-1] = blocks[-1][1]
            out[rule + 1:end] = rows
    mig = _mig_section(out)
    if mig:
        del out[mig[0]:mig[1]]
    title = next((i for i, line in enumerate(out) if _titled(line, "Processes:")), None)
    processes_rule = _rule_after(out, title) if title is not None else None
    if processes_rule is not None:
        end = _table_end(out, processes_rule + 1)
        kept = [p for p in (_rewrite_process(line, shown) for line in out[processes_rule + 1:end]) if p is not None]
        if kept and not any(line.startswith("|") for line in kept):
            kept.insert(0, "|  No running processes found".ljust(len(kept[-1]) - 1) + "|")
        out[processes_rule + 1:end] = kept
    return out


def _rewrite_process(line: str, shown: Optional[Dict[tuple, int]]) -> Optional[str]:
    """A process row of a shown GPU with that GPU's target index (GI and CI N/A); None for a process
    on a GPU or MIG device the session does not show (`shown` None: no GPU table read, indices kept);
    other lines unchanged."""
    spans = cells(line)
    if not spans:
        return line
    start, end = spans[0]
    cell = line[start + 1:end]
    words = tokens(cell)
    text = [cell[a:b] for a, b in words]
    # GPU, GI, CI (numbers on a MIG device, else N/A) and PID, the PID followed by a space.
    if len(words) < 4 or not text[0].isdigit() or not text[3].isdigit() or words[3][1] == len(cell):
        return line
    if not all(t.isdigit() or t == "N/A" for t in text[1:3]):
        return line
    ids = (int(text[0]),) + ((int(text[1]), int(text[2])) if text[1].isdigit() and text[2].isdigit() else ())
    index = int(text[0]) if shown is None else shown.get(ids, shown.get(ids[:1]))
    if index is None:
        return None
    for a, b in (words[2], words[1]):  # right to left, so earlier positions stay valid
        line = splice(line, start + 1 + a, start + 1 + b, "N/A")
    return splice(line, start + 1 + words[0][0], start + 1 + words[0][1], str(index))


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
