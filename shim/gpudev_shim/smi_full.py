"""Rewrites `nvidia-smi -q` (and `-d MEMORY,POWER,...`) to show the target GPU, line by line.

The name, brand, architecture, memory total and free, power limits, ECC and MIG sections follow the
target; the host board's part and serial numbers read N/A (the target's are unknown, and nvidia-smi
prints N/A for unknowns). A target without ECC reads as a GeForce does: ECC mode, errors, retired
pages and the inforom's ECC object N/A; a target older than Ampere (no row remapping) reads
"Remapped Rows : N/A". No `re` (see smi_other.py).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import List, Optional

from .smi_other import ARCHITECTURES, before_row_remapping, ecc_mode, mig_mode, product_brand
from .target import Target

if TYPE_CHECKING:
    from .smi_units import Unit

HOST_BOARD_LABELS = ("Board Part Number", "GPU Part Number", "FRU Part Number", "Serial Number")
POWER_LABELS = ("Power Limit", "Current Power Limit", "Requested Power Limit", "Default Power Limit",
                "Enforced Power Limit", "Min Power Limit", "Max Power Limit")
# Sections whose every value reads N/A on a GPU without ECC.
ECC_SECTIONS = ("ECC Errors", "Retired Pages")
VALUE_COLUMN = 42  # nvidia-smi -q: "    Product Name                          : ..." (the colon's column)


def _watts(value: str) -> Optional[float]:
    text = value.strip()
    if not text.endswith(" W"):
        return None
    try:
        return float(text[:-2])
    except ValueError:
        return None


class FullQueryRewriter:
    def __init__(self, target: Target, unit: Optional[Unit] = None) -> None:
        self.target = target
        self.unit = unit  # the session GPU this block stands for (smi_units.py), None: the host's block as it is
        self.section = ""  # the GPU-level block (indent 4) a line is in
        self.block = ""  # the innermost block
        self.used_mib: Optional[int] = None
        self.skip_indent: Optional[int] = None

    def feed(self, line: str) -> Optional[str]:
        """The shown line, or None where the line is dropped."""
        indent = len(line) - len(line.lstrip(" "))
        if self.skip_indent is not None:
            if line.strip() and indent > self.skip_indent:
                return None
            self.skip_indent = None
        key, sep, value = line.partition(" : ")
        label = key.strip()
        if not sep and label:
            return self._header(line, label, indent)
        if self.section in ECC_SECTIONS and self.target.has_ecc is False and sep:
            return key + sep + "N/A"
        return self._value(line, key, sep, label, value)

    def _header(self, line: str, label: str, indent: int) -> Optional[str]:
        self.block = label
        if indent <= 4:
            self.section = label
        if label == "MIG Devices" or label == "MIG Device" and indent <= 4:  # 610.43.03 lists each device on its own
            self.skip_indent = indent
            return None
        if label == "Remapped Rows" and before_row_remapping(self.target):
            self.skip_indent = indent
            return line.rstrip().ljust(VALUE_COLUMN) + ": N/A"
        return line

    def _value(self, line: str, key: str, sep: str, label: str, value: str) -> str:
        target = self.target
        if label == "Product Name":
            return key + sep + target.name
        if label == "Product Brand":
            return key + sep + product_brand(target.name)
        if label == "Product Architecture" and target.compute_capability in ARCHITECTURES:
            return key + sep + ARCHITECTURES[target.compute_capability]
        if label in HOST_BOARD_LABELS:
            return key + sep + "N/A"
        unit = self.unit
        if unit is not None and label == "GPU UUID" and unit.uuid:
            return key + sep + unit.uuid
        if unit is not None and label == "Minor Number" and unit.index is not None:
            return key + sep + str(unit.index)
        if self.block == "FB Memory Usage":
            if label == "Total":
                return key + sep + "{} MiB".format(target.vram_mib)
            if label == "Used" and unit is not None and unit.used_mib is not None:
                self.used_mib = unit.used_mib
                return key + sep + "{} MiB".format(unit.used_mib)
            if label == "Used":
                used = value.strip().split(" ")[0]
                self.used_mib = int(used) if used.isdigit() else None
            if label == "Free" and self.used_mib is not None:
                return key + sep + "{} MiB".format(max(0, target.vram_mib - self.used_mib))
        if label in ("Current", "Pending"):
            if self.block == "MIG Mode":
                return key + sep + mig_mode(value.strip(), target)
            if self.block == "ECC Mode":
                return key + sep + ecc_mode(value.strip(), target)
        if label == "ECC Object" and target.has_ecc is False:
            return key + sep + "N/A"
        if self.section == "Processes" and label in ("GPU instance ID", "Compute instance ID"):
            return key + sep + "N/A"  # as on a GPU without MIG (the table's GI and CI read N/A too)
        if self.block == "Utilization" and label == "Gpu" and value.strip() == "N/A":
            return key + sep + "0 %"  # none for the whole GPU in MIG mode; see docs/shim.md
        watts = _watts(value) if label in POWER_LABELS and target.tdp_w else None
        if watts is not None:
            shown = min(target.tdp_w, watts) if label == "Min Power Limit" else target.tdp_w
            return key + sep + "{:.2f} W".format(shown)
        return line


def rewrite_full_query(lines: List[str], target: Target) -> List[str]:
    rewriter = FullQueryRewriter(target)
    return [out for out in (rewriter.feed(line) for line in lines) if out is not None]
