"""Rewrites `nvidia-smi -q -x` (the XML report, one element per line) like `-q`: name, brand,
architecture, memory, ECC, MIG and power limits follow the target; the host board's numbers read N/A.

Line by line with string operations, not an XML parser: importing xml.etree costs more than the whole
rewrite on every call, and nvidia-smi prints one element or one tag per line.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every nvidia-smi call
    from typing import List, Optional, Tuple

from .smi_other import ARCHITECTURES, before_row_remapping, ecc_mode, mig_mode, product_brand
from .target import Target

if TYPE_CHECKING:
    from .smi_units import Unit

HOST_BOARD = ("serial", "board_part_number", "gpu_part_number", "gpu_fru_part_number")
POWER_LIMITS = ("power_limit", "current_power_limit", "requested_power_limit", "default_power_limit",
                "enforced_power_limit", "max_power_limit", "min_power_limit")
POWER_BLOCKS = ("power_readings", "gpu_power_readings")
ECC_BLOCKS = ("ecc_errors", "retired_pages")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _element(line: str) -> Optional[Tuple[str, str, str, str]]:
    """`<tag>value</tag>` on one line: (indent, tag, value, rest after the closing tag), else None."""
    text = line.lstrip()
    if not text.startswith("<") or text.startswith("</") or text.startswith("<?") or text.startswith("<!"):
        return None
    close = text.find(">")
    tag = text[1:close]
    end = text.find("</" + tag + ">", close)
    if close < 0 or " " in tag or end < 0:
        return None
    return line[: len(line) - len(text)], tag, text[close + 1:end], text[end + len(tag) + 3:]


def _open_tag(line: str) -> Optional[str]:
    text = line.strip()
    if not text.startswith("<") or text[1:2] in ("/", "?", "!") or not text.endswith(">") or "</" in text:
        return None
    return None if text.endswith("/>") else text[1:-1].split(" ")[0]


class XmlRewriter:
    def __init__(self, target: Target, unit: Optional[Unit] = None) -> None:
        self.target = target
        self.unit = unit  # the session GPU this block stands for (smi_units.py), None: the host's block as it is
        self.path: List[str] = []
        self.used_mib: Optional[int] = None
        self.skip: Optional[str] = None  # a block whose content is replaced, until its closing tag
        self.drop_close = False  # whether that closing tag goes too (the block was shown on one line)

    def feed(self, line: str) -> Optional[str]:
        """The shown line, or None where the line is dropped."""
        text = line.strip()
        if self.skip is not None:
            if text != "</" + self.skip + ">":
                return None
            self.skip = None
            self.path.pop()
            return None if self.drop_close else line
        element = _element(line)
        if element:
            indent, tag, value, rest = element
            shown = self._value(tag, value)
            return line if shown is None else "{}<{}>{}</{}>{}".format(indent, tag, _escape(shown), tag, rest)
        opened = _open_tag(line)
        if opened:
            return self._open(line, opened)
        if text.startswith("</") and self.path and text == "</" + self.path[-1] + ">":
            self.path.pop()
        return line

    def _open(self, line: str, tag: str) -> str:
        indent = line[: len(line) - len(line.lstrip())]
        self.path.append(tag)
        if tag == "mig_devices":
            self.skip, self.drop_close = tag, False
            return line + "\n" + indent + "\tNone"
        if tag == "remapped_rows" and before_row_remapping(self.target):
            self.skip, self.drop_close = tag, True
            return indent + "<remapped_rows>N/A</remapped_rows>"
        return line

    def _value(self, tag: str, value: str) -> Optional[str]:
        target, parent = self.target, self.path[-1] if self.path else ""
        if tag == "product_name":
            return target.name
        if tag == "product_brand":
            return product_brand(target.name)
        if tag == "product_architecture" and target.compute_capability in ARCHITECTURES:
            return ARCHITECTURES[target.compute_capability]
        if tag in HOST_BOARD:
            return "N/A"
        unit = self.unit
        if unit is not None and parent == "gpu" and tag == "uuid" and unit.uuid:
            return unit.uuid
        if unit is not None and parent == "gpu" and tag == "minor_number" and unit.index is not None:
            return str(unit.index)
        if tag == "compute_cap" and target.compute_capability and value[:1].isdigit():
            return "{}.{}".format(*target.compute_capability)
        if parent == "fb_memory_usage":
            return self._memory(tag, value)
        if parent == "mig_mode" and tag in ("current_mig", "pending_mig"):
            return mig_mode(value, target)
        if parent == "ecc_mode" and tag in ("current_ecc", "pending_ecc"):
            return ecc_mode(value, target)
        if target.has_ecc is False and (any(block in self.path for block in ECC_BLOCKS) or tag == "ecc_object"):
            return "N/A"
        if parent == "utilization" and tag == "gpu_util" and value == "N/A":
            return "0 %"
        if parent in POWER_BLOCKS and tag in POWER_LIMITS and target.tdp_w and value.endswith(" W"):
            try:
                watts = float(value[:-2])
            except ValueError:
                return None
            return "{:.2f} W".format(min(target.tdp_w, watts) if tag == "min_power_limit" else target.tdp_w)
        if parent == "process_info" and tag in ("gpu_instance_id", "compute_instance_id"):
            return "N/A"
        return None

    def _memory(self, tag: str, value: str) -> Optional[str]:
        if tag == "total":
            return "{} MiB".format(self.target.vram_mib)
        if tag == "used" and self.unit is not None and self.unit.used_mib is not None:
            self.used_mib = self.unit.used_mib
            return "{} MiB".format(self.unit.used_mib)
        if tag == "used":
            used = value.split(" ")[0]
            self.used_mib = int(used) if used.isdigit() else None
        if tag == "free" and self.used_mib is not None:
            return "{} MiB".format(max(0, self.target.vram_mib - self.used_mib))
        return None
