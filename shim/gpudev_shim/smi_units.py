"""`nvidia-smi -q` and `-q -x` as a machine of the session's target GPUs prints them: one GPU block each.

Target GPU i is the i-th visible unit, as in the table (smi_table.py): a MIG device where the host GPU
is partitioned, else the GPU. Inside a container given MIG slices the real report holds their parent
GPU once with its MIG devices (one "MIG Device" section each, or a "MIG Devices" section holding them;
`<mig_devices>` in XML); each slice then gets its own copy of the parent's block, with
the slice's UUID (from NVIDIA_VISIBLE_DEVICES, in order, as `--query-gpu` reads them), its index as
the minor number, its own memory use and its own processes. A report that lists no MIG device while
the container holds slices (as the fake GPU's) splits each GPU into its share of them, as the table
does. "Attached GPUs" grows by the copies made. Each block is then rewritten line by line
(smi_full.py, smi_xml.py). A report is rewritten once it is complete: at its end (`</nvidia_smi_log>`),
at the next report's banner (a `-l` loop) or at the end of the output.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from .target import Target

BANNER = "==============NVSMI LOG=============="


class Unit:
    """What one shown GPU block stands for: its index as the minor number (None: the host's), the UUID
    it shows (None: the host's), its own memory use in MiB (None: the host's) and which processes of
    the block are its own: those of MIG device (gi, ci), all (None) or none ("none")."""

    __slots__ = ("index", "uuid", "used_mib", "owner")

    def __init__(self, index=None, uuid=None, used_mib=None, owner=None) -> None:
        self.index, self.uuid, self.used_mib, self.owner = index, uuid, used_mib, owner

    def keeps(self, gi: str, ci: str) -> bool:
        if self.owner is None:
            return True
        return self.owner != "none" and (gi, ci) == self.owner


def _text_value(line: str) -> Tuple[int, str, Optional[str]]:
    """(indent, label, value or None for a section header) of a `-q` line."""
    key, sep, value = line.partition(" : ")
    return len(line) - len(line.lstrip(" ")), key.strip(), value.strip() if sep else None


def _xml_value(line: str) -> Tuple[int, str, Optional[str]]:
    """(indent, tag, value) of a one-line `<tag>value</tag>`; (indent, "<tag" or "</tag", None) otherwise."""
    text = line.strip()
    indent = len(line) - len(line.lstrip())
    close = text.find(">")
    if not text.startswith("<") or close < 0:
        return indent, text, None
    tag = text[1:close].split(" ")[0]
    end = text.find("</" + tag + ">", close)
    return (indent, tag, text[close + 1:end]) if end > 0 and tag[:1] != "/" else (indent, text[:close].split(" ")[0], None)


class _Text:
    value = staticmethod(_text_value)
    attached, device, process = "Attached GPUs", "MIG Device", "GPU instance ID"
    ids = {"gpu instance id": 0, "compute instance id": 1}

    @staticmethod
    def starts_gpu(line: str) -> bool:
        return line.startswith("GPU ") and " : " not in line

    @staticmethod
    def in_block(block: List[str], line: str) -> bool:
        """Whether a line still belongs to the GPU block: anything indented (or blank)."""
        return not line or line[:1].isspace()

    @staticmethod
    def end(lines: List[str], first: int) -> int:
        """Where the section starting at `first` ends: at the next line indented no deeper."""
        indent = len(lines[first]) - len(lines[first].lstrip(" "))
        end = first + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip(" ")) > indent):
            end += 1
        return end

    @staticmethod
    def memory(label: str) -> bool:
        return label.endswith("FB Memory Usage")  # "Shared FB Memory Usage" in a MIG device of 610.43.03


class _Xml:
    value = staticmethod(_xml_value)
    attached, device, process = "attached_gpus", "<mig_device", "<process_info"
    ids = {"gpu_instance_id": 0, "compute_instance_id": 1}

    @staticmethod
    def starts_gpu(line: str) -> bool:
        text = line.strip()
        return text == "<gpu>" or text.startswith("<gpu ")

    @staticmethod
    def in_block(block: List[str], line: str) -> bool:
        return block[-1].strip() != "</gpu>"

    @staticmethod
    def end(lines: List[str], first: int) -> int:
        """Where the element opened at `first` ends: after its closing tag."""
        closing = "</" + lines[first].strip()[1:].split(">")[0].split(" ")[0] + ">"
        end = first + 1
        while end < len(lines) and lines[end].strip() != closing:
            end += 1
        return min(end + 1, len(lines))

    @staticmethod
    def memory(label: str) -> bool:
        return label == "<fb_memory_usage"


def _sections(block: List[str], fmt, title: str, indent: Optional[int] = None) -> List[Tuple[int, int]]:
    """(first, end) line ranges of each section named `title` (its header or opening tag included)."""
    found, i = [], 0
    while i < len(block):
        at, label, value = fmt.value(block[i])
        if label == title and value is None and (indent is None or at == indent):
            end = fmt.end(block, i)
            found.append((i, end))
            i = end
        else:
            i += 1
    return found


def _ids(lines: List[str], fmt) -> Tuple[str, str]:
    """The GPU and compute instance ids a MIG device or a process names (the first of each)."""
    ids = ["", ""]
    for line in lines:
        _, label, value = fmt.value(line)
        at = fmt.ids.get(label.lower())
        if at is not None and value is not None and not ids[at]:
            ids[at] = value
    return ids[0], ids[1]


def _mig_devices(block: List[str], fmt) -> List[Tuple[Tuple[str, str], Optional[int]]]:
    """The MIG devices a GPU block lists, in order: ((GPU instance id, compute instance id), memory
    used in MiB), in one "MIG Device" section each (610.43.03) or all in a "MIG Devices" section."""
    devices = []
    for first, end in _sections(block, fmt, fmt.device):
        lines = block[first:end]
        used = None
        memory = next((i for i, line in enumerate(lines) if fmt.memory(fmt.value(line)[1])), None)
        for line in lines[memory:fmt.end(lines, memory)] if memory is not None else ():
            _, label, value = fmt.value(line)
            number = (value or "").split(" ")[0]
            if label.lower() == "used" and number.isdigit():
                used = int(number)
        devices.append((_ids(lines, fmt), used))
    return devices


def _own_processes(block: List[str], fmt, unit: Unit) -> List[str]:
    """The block without the processes that are not the unit's (text: "None" where none is left)."""
    if unit.owner is None:
        return block
    if fmt is _Xml:
        groups = _sections(block, fmt, fmt.process)
    else:
        groups = [(i, _process_end(block, i)) for i, line in enumerate(block) if _text_value(line)[1] == _Text.process]
    out, at = [], 0
    for first, end in groups:
        out.extend(block[at:first])
        if unit.keeps(*_ids(block[first:end], fmt)):
            out.extend(block[first:end])
        at = end
    out.extend(block[at:])
    if fmt is _Text and groups and not any(_text_value(line)[1] == _Text.process for line in out):
        header = next((i for i, line in enumerate(out) if _text_value(line)[1:] == ("Processes", None)), None)
        if header is not None:
            out[header] = out[header].rstrip().ljust(42) + ": None"
    return out


def _process_end(block: List[str], first: int) -> int:
    """A `-q` process runs from its "GPU instance ID" line to the next one or the end of Processes."""
    indent = len(block[first]) - len(block[first].lstrip(" "))
    end = first + 1
    while end < len(block) and block[end].strip() and len(block[end]) - len(block[end].lstrip(" ")) >= indent:
        if _text_value(block[end])[1] == _Text.process:
            break
        end += 1
    return end


def _units(blocks: List[List[str]], fmt, slices: Sequence[str], count: int) -> List[Tuple[int, Unit]]:
    """(block, Unit) per shown GPU, the first `count`."""
    units: List[Tuple[int, Unit]] = []
    listed = [_mig_devices(block, fmt) for block in blocks]
    for b, devices in enumerate(listed):
        units.extend((b, Unit(used_mib=used, owner=ids)) for ids, used in devices) if devices else units.append((b, Unit()))
    if not any(listed) and blocks and len(slices) > len(blocks) and len(slices) % len(blocks) == 0:
        share = len(slices) // len(blocks)  # slices without their rows: the GPU's processes go to the first
        units = [(b, Unit(owner=None if k == 0 else "none")) for b in range(len(blocks)) for k in range(share)]
    units = units[:count]
    if any(unit.owner is not None for _, unit in units) or len(units) > len(blocks):
        for position, (_, unit) in enumerate(units):  # MIG slices are numbered, as in the table
            unit.index = position
            unit.uuid = slices[position] if position < len(slices) else None
    return units


def _report(lines: List[str], fmt, target: Target, slices: Sequence[str], rewriter: Callable) -> Iterator[str]:
    head: List[str] = []
    blocks: List[List[str]] = []
    tail: List[str] = []
    for line in lines:
        if fmt.starts_gpu(line):
            blocks.append([line])
        elif blocks and not tail and fmt.in_block(blocks[-1], line):
            blocks[-1].append(line)
        else:
            (tail if blocks else head).append(line)
    units = _units(blocks, fmt, slices, target.count)
    added = len(units) - len(blocks)
    shown = rewriter(target, None)
    for line in head:
        _, label, value = fmt.value(line)
        if label == fmt.attached and value and value.isdigit() and added:
            before, _, after = line.rpartition(value)
            line = before + str(int(value) + added) + after
        yield from _feed(shown, [line])
    for b, unit in units:
        yield from _feed(rewriter(target, unit), _own_processes(blocks[b], fmt, unit))
    yield from _feed(rewriter(target, None), tail)


def _feed(rewriter, lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        out = rewriter.feed(line)
        if out is not None:
            yield out


def rewrite_reports(lines: Iterable[str], target: Target, slices: Sequence[str], xml: bool) -> Iterator[str]:
    """Every report of the output (one, or one per tick of a loop), rewritten."""
    if xml:
        from .smi_xml import XmlRewriter as rewriter
    else:
        from .smi_full import FullQueryRewriter as rewriter  # type: ignore[assignment]
    fmt = _Xml if xml else _Text
    report: List[str] = []
    for line in lines:
        if not xml and line.strip() == BANNER and any(fmt.starts_gpu(seen) for seen in report):
            yield from _report(report, fmt, target, slices, rewriter)
            report = []
        report.append(line)
        if xml and line.strip() == "</nvidia_smi_log>":
            yield from _report(report, fmt, target, slices, rewriter)
            report = []
    if report:
        yield from _report(report, fmt, target, slices, rewriter)
