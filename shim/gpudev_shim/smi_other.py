"""Rewrites `nvidia-smi -L`, `--query-gpu` CSV and `-q` reports to show the target GPU."""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import List, Optional

from .target import Target

NA = ("[N/A]", "N/A", "[Not Supported]")


def rewrite_list_line(line: str, target: Target) -> Optional[str]:
    """`-L`: the target's name, UUID kept; MIG sub-lines (None) dropped."""
    if re.match(r"^\s+MIG\s", line):
        return None
    match = re.match(r"^(GPU \d+: )(.*?)( \(UUID: .*)$", line)
    return match.group(1) + target.name + match.group(3) if match else line


POWER_FIELDS = {"power.limit", "enforced.power.limit", "power.default_limit", "power.max_limit", "power.min_limit"}


def rewrite_query_line(line: str, query: dict, target: Target, first: bool) -> str:
    """One CSV line of a `--query-gpu` answer. The header (first line unless noheader) passes."""
    if first and query["header"]:
        return line
    values = line.split(", ")
    fields = query["fields"]
    if len(values) != len(fields):
        return line
    mib = " MiB" if query["units"] else ""
    watts = " W" if query["units"] else ""
    by_field = dict(zip(fields, values))

    def number(field: str) -> Optional[float]:
        match = re.match(r"^\s*([\d.]+)", by_field.get(field, ""))
        return float(match.group(1)) if match else None

    for i, field in enumerate(fields):
        if field in ("name", "gpu_name"):
            values[i] = target.name
        elif field == "memory.total":
            values[i] = "{}{}".format(target.vram_mib, mib)
        elif field == "memory.free":
            used = number("memory.used")
            real_free = number("memory.free")
            free = target.vram_mib - int(used) if used is not None else target.vram_mib
            if real_free is not None:
                free = min(free, int(real_free))
            values[i] = "{}{}".format(max(0, free), mib)
        elif field in POWER_FIELDS and target.tdp_w and values[i] not in NA:
            values[i] = "{:.2f}{}".format(target.tdp_w, watts)
        elif field in ("mig.mode.current", "mig.mode.pending") and values[i] not in NA:
            values[i] = "Disabled"
        elif field == "compute_cap" and target.compute_capability and values[i] not in NA:
            values[i] = "{}.{}".format(*target.compute_capability)
    return ", ".join(values)


Q_POWER = re.compile(r"^(\s*)(Power Limit|Current Power Limit|Requested Power Limit|Default Power Limit|Enforced Power Limit|Min Power Limit|Max Power Limit)(\s*: )(\d[\d.]*) W\s*$")


# What nvidia-smi -q prints as "Product Architecture", by compute capability major.minor.
ARCHITECTURES = {(7, 0): "Volta", (7, 5): "Turing", (8, 0): "Ampere", (8, 6): "Ampere", (8, 7): "Ampere", (8, 9): "Ada Lovelace", (9, 0): "Hopper", (10, 0): "Blackwell", (12, 0): "Blackwell"}
# Lines that name the host's own board: the target's are unknown, and nvidia-smi prints N/A for unknowns.
HOST_BOARD_LABELS = ("Board Part Number", "GPU Part Number", "FRU Part Number", "Serial Number")


def product_brand(name: str) -> str:
    """The brand nvidia-smi reports for a product name."""
    if "GeForce" in name:
        return "GeForce"
    if re.search(r"RTX (A\d+|\d+ Ada)", name):
        return "NVIDIA RTX"
    return "NVIDIA"


class FullQueryRewriter:
    """`nvidia-smi -q` (and `-d MEMORY,POWER,...`), line by line."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.block = ""
        self.used_mib: Optional[int] = None
        self.skip_indent: Optional[int] = None

    def feed(self, line: str) -> Optional[str]:
        indent = len(line) - len(line.lstrip(" "))
        if self.skip_indent is not None:
            if line.strip() and indent > self.skip_indent:
                return None
            self.skip_indent = None
        key, sep, value = line.partition(" : ")
        label = key.strip()
        if not sep and label:
            self.block = label
            if label == "MIG Devices":
                self.skip_indent = indent
                return None
            return line
        if label == "Product Name":
            return key + sep + self.target.name
        if label == "Product Brand":
            return key + sep + product_brand(self.target.name)
        if label == "Product Architecture" and self.target.compute_capability in ARCHITECTURES:
            return key + sep + ARCHITECTURES[self.target.compute_capability]
        if label in HOST_BOARD_LABELS:
            return key + sep + "N/A"
        if self.block == "FB Memory Usage":
            if label == "Total":
                return key + sep + "{} MiB".format(self.target.vram_mib)
            if label == "Used":
                match = re.match(r"(\d+)", value.strip())
                self.used_mib = int(match.group(1)) if match else None
            if label == "Free" and self.used_mib is not None:
                return key + sep + "{} MiB".format(max(0, self.target.vram_mib - self.used_mib))
        if self.block == "MIG Mode" and label in ("Current", "Pending"):
            return key + sep + "Disabled"
        power = Q_POWER.match(line)
        if power and self.target.tdp_w:
            watts = self.target.tdp_w
            if power.group(2) == "Min Power Limit":
                watts = min(watts, float(power.group(4)))
            return power.group(1) + power.group(2) + power.group(3) + "{:.2f} W".format(watts)
        return line


def rewrite_full_query(lines: List[str], target: Target) -> List[str]:
    rewriter = FullQueryRewriter(target)
    return [out for out in (rewriter.feed(line) for line in lines) if out is not None]
