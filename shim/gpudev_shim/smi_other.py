"""Rewrites `nvidia-smi -L` and `--query-gpu` CSV to show the target GPUs, and what every mode shares:
the target's brand, architecture and its ECC/MIG values.

No `re` here: importing it costs more than a whole rewrite, on every nvidia-smi call (S1 in npm run bench).
Target GPU i is the i-th visible unit: a MIG device where the host GPU is partitioned, else the GPU.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import Iterable, List, Mapping, Optional, Sequence

from .target import Target

NA = ("[N/A]", "N/A", "[Not Supported]")
# What nvidia-smi -q prints as "Product Architecture", by compute capability major.minor.
ARCHITECTURES = {(7, 0): "Volta", (7, 5): "Turing", (8, 0): "Ampere", (8, 6): "Ampere", (8, 7): "Ampere",
                 (8, 9): "Ada Lovelace", (9, 0): "Hopper", (10, 0): "Blackwell", (10, 3): "Blackwell",
                 (12, 0): "Blackwell", (12, 1): "Blackwell"}


def product_brand(name: str) -> str:
    """The brand nvidia-smi reports for a product name."""
    if "GeForce" in name:
        return "GeForce"
    after = name.partition("RTX ")[2].split()
    if after and (after[0] == "PRO" or after[0][:1] == "A" and after[0][1:].isdigit()
                  or after[0].isdigit() and after[1:2] == ["Ada"]):
        return "NVIDIA RTX"
    return "NVIDIA"


def before_row_remapping(target: Target) -> bool:
    """Whether the target predates Ampere, whose memory row remapping nvidia-smi reports (a GeForce
    RTX 4070 lists its remapped rows; a GTX 1070 reads N/A)."""
    return target.compute_capability is not None and target.compute_capability < (8, 0)


def ecc_mode(host: str, target: Target, na: str = "N/A") -> str:
    """ECC mode current/pending: N/A without ECC (as a GeForce reports it), Disabled for a target
    with ECC on a host without, else the host's."""
    if target.has_ecc is False:
        return na
    return "Disabled" if target.has_ecc and host in NA else host


def mig_mode(host: str, target: Target, na: str = "N/A") -> str:
    """MIG mode current/pending: N/A for a target without MIG, Disabled for a MIG-capable one (never
    partitioned); unknown: Disabled unless the host has no MIG either."""
    if target.mig_capable is False:
        return na
    return "Disabled" if target.mig_capable or host not in NA else host


def _uuid(line: str) -> Optional[str]:
    at = line.rfind("(UUID: ")
    return line[at + 7:-1] if at >= 0 and line.endswith(")") else None


def rewrite_listing(lines: Iterable[str], target: Target, only: Sequence[str] = ()) -> List[str]:
    """`-L`: one `GPU i: <target> (UUID: ...)` per target GPU, a MIG device's UUID where it is a slice
    (the UUID CUDA and `-i` know it by); lines that are no GPU pass through in place. With `only` (a
    process session's GPUs), the host's other GPUs are left out."""
    out: List[str] = []
    units: List[List[str]] = []  # per GPU: its index and UUID, then its MIG devices' UUIDs
    first = None
    for line in lines:
        uuid = _uuid(line)
        if line.startswith("GPU ") and uuid:
            units.append([line[4:line.find(":")], uuid])
            first = len(out) if first is None else first
        elif line.lstrip().startswith("MIG ") and uuid and units:
            units[-1].append(uuid)
        else:
            out.append(line)
    # A GPU keeps its index (as in the table); MIG slices are numbered.
    if only:
        units = [gpu for gpu in units if gpu[1] in only]
    numbered = any(len(gpu) > 2 for gpu in units)
    shown_units = [(gpu[0], u) for gpu in units for u in (gpu[2:] or gpu[1:2])]
    shown = ["GPU {}: {} (UUID: {})".format(i if numbered else index, target.name, u)
             for i, (index, u) in enumerate(shown_units[: target.count])]
    return out[:first] + shown + out[first:] if first is not None else out


POWER_FIELDS = {"power.limit", "enforced.power.limit", "power.default_limit", "power.max_limit", "power.min_limit"}


def _number(text: str) -> Optional[float]:
    value = text.strip().split(" ")[0]
    try:
        return float(value)
    except ValueError:
        return None


def rewrite_query_row(line: str, query: dict, target: Target, slice_uuid: Optional[str] = None, index: int = 0) -> str:
    """One CSV row of a `--query-gpu` answer; where it stands for a MIG slice, as target GPU `index`
    with the slice's UUID."""
    values = line.split(", ")
    fields = query["fields"]
    if len(values) != len(fields):
        return line
    mib = " MiB" if query["units"] else ""
    by_field = dict(zip(fields, values))
    for i, field in enumerate(fields):
        value = values[i]
        if field in ("name", "gpu_name"):
            values[i] = target.name
        elif field == "memory.total":
            values[i] = "{}{}".format(target.vram_mib, mib)
        elif field == "memory.free":
            used = _number(by_field.get("memory.used", ""))
            real_free = _number(value)
            free = target.vram_mib - int(used) if used is not None else target.vram_mib
            if real_free is not None:
                free = min(free, int(real_free))
            values[i] = "{}{}".format(max(0, free), mib)
        elif field in POWER_FIELDS and target.tdp_w and value not in NA:
            values[i] = "{:.2f}{}".format(target.tdp_w, " W" if query["units"] else "")
        elif field in ("mig.mode.current", "mig.mode.pending"):
            values[i] = mig_mode(value, target, "[N/A]")
        elif field in ("ecc.mode.current", "ecc.mode.pending"):
            values[i] = ecc_mode(value, target, "[N/A]")
        elif field == "compute_cap" and target.compute_capability and value not in NA:
            values[i] = "{}.{}".format(*target.compute_capability)
        elif field == "utilization.gpu" and value in NA:
            values[i] = "0 %" if query["units"] else "0"  # the host has none in MIG mode; see docs/shim.md
        elif field == "index" and slice_uuid:
            values[i] = str(index)
        elif field in ("uuid", "gpu_uuid") and slice_uuid:
            values[i] = slice_uuid
    return ", ".join(values)


def rewrite_query(lines: Iterable[str], query: dict, target: Target, slices: List[str], loop: bool) -> Iterable[str]:
    """`--query-gpu` CSV. The real one answers per GPU, also for a partitioned one: where the container
    holds more MIG devices (`slices`) than rows, each row stands for its share of them, in order; the
    first `target.count` are shown. A loop (`-l`) streams row by row, without that expansion."""
    rows = iter(lines)
    if query["header"]:
        for line in rows:
            yield line
            break
    if loop:
        for line in rows:
            yield rewrite_query_row(line, query, target)
        return
    lines = list(rows)
    width = len(query["fields"])
    data = [line for line in lines if len(line.split(", ")) == width]
    for line in lines:  # what is no row (an error message) passes once
        if len(line.split(", ")) != width:
            yield line
    share = len(slices) // len(data) if data and len(slices) > len(data) and len(slices) % len(data) == 0 else 0
    units = [(row, slices[r * share + k]) for r, row in enumerate(data) for k in range(share)] if share else [(row, None) for row in data]
    for index, (row, uuid) in enumerate(units[: target.count]):
        yield rewrite_query_row(row, query, target, uuid, index)
