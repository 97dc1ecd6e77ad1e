import re
import unittest

from gpudev_shim.smi_table import rewrite_table
from tests.fixtures import TARGETS, fixtures

TABLES = list(fixtures("default-")) + list(fixtures("mig-"))


def bars(line):
    return [i for i, ch in enumerate(line) if ch == "|"]


def without_mig_section(lines):
    if not any("MIG devices:" in line for line in lines):
        return lines
    title = next(i for i, line in enumerate(lines) if "MIG devices:" in line)
    end = title
    while end < len(lines) and lines[end][:1] in ("|", "+"):
        end += 1
    return lines[:title - 1] + lines[end + 1:]


class DefaultTableTest(unittest.TestCase):
    def test_has_fixtures(self):
        self.assertGreaterEqual(len(TABLES), 19)

    def test_every_fixture_to_every_target(self):
        for name, lines, meta in TABLES:
            gpus = meta["expected"]["gpus"]
            for target in TARGETS:
                with self.subTest(fixture=name, target=target.name):
                    out = rewrite_table(lines, target)
                    kept = without_mig_section(lines)
                    self.assertEqual(len(out), len(kept), "only the MIG section is removed")
                    for before, after in zip(kept, out):
                        self.assertEqual(len(after), len(before), after)
                        self.assertEqual(bars(after), bars(before), after)
                    text = "\n".join(out)
                    self.assertNotIn("MIG devices", text)
                    for gpu in gpus:
                        if gpu["name"] != target.name and not target.name.startswith(gpu["name"].rstrip(".")):
                            self.assertNotIn(gpu["name"], text, "the host's name is gone")
                    rows = [line for line in out if re.match(r"^\|\s+\d+\s+\S", line) and "MiB" not in line and "PID" not in line]
                    identity = [line for line in rows if re.search(r"\|\s+[0-9A-F]{8}:[0-9A-F]{2}:", line)]
                    self.assertEqual(len(identity), len(gpus))
                    for line in identity:
                        shown = re.match(r"^\|\s+\d+\s+(.*?)\s+(On|Off|N/A)?\s*\|", line).group(1)
                        self.assertTrue(target.name.startswith(shown.replace("...", "")), shown)
                    totals = re.findall(r"/\s*(\d+)MiB \|", text)
                    self.assertTrue(all(int(t) == target.vram_mib for t in totals), totals)
                    self.assertEqual(len(totals), len(gpus))
                    caps = re.findall(r"/\s*(\d+)W \|", text)
                    self.assertTrue(all(int(c) == target.tdp_w for c in caps), caps)
                    self.assertNotIn("Enabled", text)

    def test_process_gi_ci_read_na(self):
        [(_, lines, _)] = [f for f in TABLES if f[0] == "mig-a100-sxm4-40gb-x4-450.142.00"]
        out = rewrite_table(lines, TARGETS[0])
        processes = [line for line in out if re.search(r"python3?\s+\d+MiB", line)]
        self.assertEqual(len(processes), 4)
        for line in processes:
            self.assertRegex(line, r"^\|\s+\d+\s+N/A\s+N/A\s+\d+\s+C\s+python")

    def test_mig_parent_memory_shows_the_mig_devices_use(self):
        [(_, lines, _)] = [f for f in TABLES if f[0] == "mig-h200-570.86.15-container-2dev"]
        out = rewrite_table(lines, TARGETS[0])
        self.assertIn("|       44MiB / 24576MiB |", "\n".join(out))

    def test_long_names_are_cut_like_nvidia_smi_cuts_them(self):
        [(_, lines, _)] = [f for f in TABLES if f[0] == "default-rtx3090-470.63.01"]
        out = "\n".join(rewrite_table(lines, TARGETS[2]))
        self.assertIn("|   0  NVIDIA RTX 6000...  Off  |", out)

    def test_lines_not_understood_pass_through(self):
        garbage = ["NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "", "| odd | row |"]
        self.assertEqual(rewrite_table(garbage, TARGETS[0]), garbage)
        self.assertEqual(rewrite_table([], TARGETS[0]), [])


if __name__ == "__main__":
    unittest.main()
