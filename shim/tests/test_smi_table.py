import re
import unittest

from gpudev_shim.smi_table import rewrite_table
from tests.fixtures import A100, GEFORCE, L4_NO_MIG, TARGETS, fixtures, units

TABLES = list(fixtures("default-")) + list(fixtures("mig-"))
MIG_TABLES = [f for f in TABLES if any(g["mig_mode"] == "Enabled" for g in f[2]["expected"]["gpus"])]
IDENTITY = re.compile(r"^\|\s+(\d+)\s+(.*?)\s+(On|Off|N/A)?\s*\|\s+[0-9A-F]{8}:[0-9A-F]{2}:\S+\s+\S+\s+\|\s+(\S+) \|")


def bars(line):
    return [i for i, ch in enumerate(line) if ch == "|"]


def table(name):
    [(_, lines, meta)] = [f for f in TABLES if f[0] == name]
    return lines, meta


def gpu_rows(out):
    """(identity, usage, MIG M.) lines of each shown GPU."""
    starts = [i for i, line in enumerate(out) if IDENTITY.match(line)]
    return [out[i:i + 3] for i in starts]


class DefaultTableTest(unittest.TestCase):
    def test_has_fixtures(self):
        self.assertGreaterEqual(len(TABLES), 19)
        self.assertGreaterEqual(len(MIG_TABLES), 5)

    def test_every_fixture_to_every_target(self):
        for name, lines, meta in TABLES:
            gpus = meta["expected"]["gpus"]
            for target in TARGETS + [GEFORCE, A100]:
                target = target._replace(count=units(meta))
                with self.subTest(fixture=name, target=target.name):
                    out = rewrite_table(lines, target)
                    shapes = {(len(line), tuple(bars(line))) for line in lines}
                    for line in out:
                        self.assertIn((len(line), tuple(bars(line))), shapes, "every line keeps a layout of the host's: " + line)
                    text = "\n".join(out)
                    self.assertNotIn("MIG devices", text)
                    for gpu in gpus:
                        if gpu["name"] != target.name and not target.name.startswith(gpu["name"].rstrip(".")):
                            self.assertNotIn(gpu["name"], text, "the host's name is gone")
                    rows = gpu_rows(out)
                    self.assertEqual([int(IDENTITY.match(r[0]).group(1)) for r in rows], list(range(units(meta))))
                    for row in rows:
                        shown = IDENTITY.match(row[0]).group(2)
                        self.assertTrue(target.name.startswith(shown.replace("...", "")), shown)
                    totals = re.findall(r"/\s*(\d+)MiB \|", text)
                    self.assertEqual(totals, [str(target.vram_mib)] * units(meta))
                    caps = re.findall(r"/\s*(\d+)W \|", text)
                    self.assertTrue(all(int(c) == target.tdp_w for c in caps), caps)
                    self.assertNotIn("Enabled", text)
                    self.assertNotIn(" N/A      Default", text, "GPU-Util is a %")

    def test_a_geforce_target_shows_no_ecc_state_and_no_mig_value_of_the_host(self):
        for name, lines, meta in MIG_TABLES + [f for f in TABLES if f not in MIG_TABLES]:
            with self.subTest(fixture=name):
                rows = gpu_rows(rewrite_table(lines, GEFORCE._replace(count=units(meta))))
                self.assertEqual(len(rows), units(meta))
                for identity, usage, mig in rows:
                    self.assertEqual(IDENTITY.match(identity).group(4), "N/A", identity)
                    self.assertRegex(usage, r"\|\s+\d+%\s+\S+\s+\|$")
                    self.assertRegex(mig, r"\s N/A \|$")

    def test_a_mig_capable_target_with_ecc_shows_mig_disabled_and_each_slices_ecc_count(self):
        lines, meta = table("mig-h100-nvl-560.35.03-3dev")
        rows = gpu_rows(rewrite_table(lines, A100._replace(count=3)))
        self.assertEqual([IDENTITY.match(r[0]).group(4) for r in rows], ["0", "0", "0"])
        self.assertTrue(all(r[2].endswith(" Disabled |") for r in rows))
        lines, _ = table("default-rtx3090-470.63.01")
        [row] = gpu_rows(rewrite_table(lines, A100))
        self.assertEqual(IDENTITY.match(row[0]).group(4), "Off", "ECC supported but off: the host has none")
        self.assertTrue(row[2].endswith(" Disabled |"))
        lines, _ = table("default-h100-535.104.12")
        [row] = gpu_rows(rewrite_table(lines, L4_NO_MIG))
        self.assertEqual(IDENTITY.match(row[0]).group(4), "0", "the host's ECC count")
        self.assertTrue(row[2].endswith(" N/A |"))

    def test_features_unknown_keep_the_hosts_cells(self):
        lines, _ = table("default-h100-535.104.12")
        self.assertEqual(rewrite_table(lines, TARGETS[0])[8:11], rewrite_table(lines, GEFORCE._replace(has_ecc=None, mig_capable=None))[8:11])
        [row] = gpu_rows(rewrite_table(lines, TARGETS[0]))
        self.assertEqual(IDENTITY.match(row[0]).group(4), "0")

    def test_one_target_gpu_per_mig_slice_with_the_slices_memory(self):
        lines, _ = table("mig-h200-570.86.15-container-2dev")
        out = rewrite_table(lines, GEFORCE._replace(count=2))
        rows = gpu_rows(out)
        self.assertEqual(len(rows), 2)
        self.assertIn("|       29MiB / 24576MiB |", rows[0][1])
        self.assertIn("|       15MiB / 24576MiB |", rows[1][1])
        self.assertTrue(all("00000000:2A:00.0" in r[0] for r in rows), "both on the parent's bus")
        one = gpu_rows(rewrite_table(lines, GEFORCE))
        self.assertEqual(len(one), 1, "a one-GPU session shows its first slice")
        lines, _ = table("mig-a100-80gb-pcie-550.54.15-1dev")
        [row] = gpu_rows(rewrite_table(lines, GEFORCE))
        used = re.search(r"(\d+)MiB /", row[1]).group(1)
        self.assertNotEqual(used, "675", "the slice's use, not the whole GPU's")

    def test_slices_the_table_does_not_list_share_their_gpus_row(self):
        lines, _ = table("default-rtx3090-470.63.01")
        out = rewrite_table(lines, GEFORCE._replace(count=2), slices=2)
        rows = gpu_rows(out)
        self.assertEqual([IDENTITY.match(r[0]).group(1) for r in rows], ["0", "1"], "two slices of the one GPU")
        self.assertEqual(rows[0][0][8:], rows[1][0][8:], "both on its bus")
        self.assertEqual([line.split()[1] for line in out if "/usr/" in line], ["0", "0"], "the GPU's processes go to its first slice")
        lines, _ = table("default-h100-x8-570.133.20")
        self.assertEqual(len(gpu_rows(rewrite_table(lines, GEFORCE._replace(count=8), slices=8))), 8, "one slice per GPU")
        lines, _ = table("mig-h200-570.86.15-container-2dev")
        self.assertEqual(rewrite_table(lines, GEFORCE._replace(count=2), slices=4), rewrite_table(lines, GEFORCE._replace(count=2)),
                         "a table that lists its MIG devices is read as it is")

    def test_the_session_shows_count_gpus_and_their_processes(self):
        lines, _ = table("default-rtxa6000-x4-535.129.03-procs")
        out = rewrite_table(lines, GEFORCE._replace(count=2))
        self.assertEqual(len(gpu_rows(out)), 2)
        self.assertEqual(out[-1], lines[-1], "the bottom border")
        processes = [line for line in out if re.search(r"python3\s+\d+MiB", line)]
        self.assertEqual([line.split()[1] for line in processes], ["0", "1"])

    def test_a_gpu_keeps_its_index_mig_slices_are_numbered(self):
        lines, _ = table("default-rtxa6000-x4-535.129.03-procs")
        others = set(range(8, 16)) | set(range(20, 24))  # the rows of GPUs 0, 1 and 3
        only_gpu_2 = [line for i, line in enumerate(lines) if i not in others and not re.match(r"\|\s+[013]\s+N/A", line)]
        out = rewrite_table(only_gpu_2, GEFORCE)
        self.assertEqual([IDENTITY.match(r[0]).group(1) for r in gpu_rows(out)], ["2"], "as `nvidia-smi -i 2` shows it")
        self.assertEqual([line.split()[1] for line in out if "python3" in line], ["2"])

    def test_processes_on_mig_devices_follow_their_target_gpu_with_gi_ci_na(self):
        lines, meta = table("mig-a100-sxm4-40gb-x4-450.142.00")
        out = rewrite_table(lines, TARGETS[0]._replace(count=units(meta)))
        processes = [line for line in out if re.search(r"python3?\s+\d+MiB", line)]
        self.assertEqual(len(processes), 4)
        for line in processes:
            self.assertRegex(line, r"^\|\s+\d+\s+N/A\s+N/A\s+\d+\s+C\s+python")
        # (GPU 0, GI 1) is slice 0, (1, 2) slice 3, GPUs 2 and 3 one whole-GPU instance each: 4 and 5.
        self.assertEqual([line.split()[1] for line in processes], ["0", "3", "4", "5"])
        two = rewrite_table(lines, TARGETS[0]._replace(count=2))
        self.assertEqual([line.split()[1] for line in two if re.search(r"python3?\s+\d+MiB", line)], ["0"])

    def test_no_process_left_reads_like_nvidia_smi(self):
        lines, _ = table("default-rtxa6000-x4-535.129.03-procs")
        out = rewrite_table([line.replace("|    0   N/A", "|    3   N/A") for line in lines], TARGETS[0])
        found = [line for line in out if "No running processes found" in line]
        self.assertEqual(found, ["|  No running processes found".ljust(len(lines[-1]) - 1) + "|"])

    def test_long_names_are_cut_like_nvidia_smi_cuts_them(self):
        lines, _ = table("default-rtx3090-470.63.01")
        out = "\n".join(rewrite_table(lines, TARGETS[2]))
        self.assertIn("|   0  NVIDIA RTX 6000...  Off  |", out)

    def test_lines_not_understood_pass_through(self):
        garbage = ["NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "", "| odd | row |"]
        self.assertEqual(rewrite_table(garbage, TARGETS[0]), garbage)
        self.assertEqual(rewrite_table([], TARGETS[0]), [])


if __name__ == "__main__":
    unittest.main()
