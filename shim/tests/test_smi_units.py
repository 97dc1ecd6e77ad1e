"""`nvidia-smi -q` and `-q -x` show one GPU block per session GPU (gpudev_shim/smi_units.py).

No verbatim `-q` of a partitioned datacenter GPU is in the fixtures: the MIG-mode reports here are the
verbatim H100 `-q` (and the -q -x built from it, see the fixtures' README) with MIG mode enabled, MIG
devices and processes added in the layouts drivers print them — 610+ one "MIG Device" section each
with "Shared FB Memory Usage" (a published 610.43.03 `-q` of a MIG instance, search id 71604074629),
a "MIG Devices" section holding them (the layout the shim read before; no capture of it was found),
and in XML `<mig_devices><mig_device>` (as a
575.57.08 report published in gpustack's nvidia_smi detector and netdata's MIG tests show them).
"""
import re
import unittest
import xml.etree.ElementTree as ElementTree

from gpudev_shim.smi_full import rewrite_full_query
from gpudev_shim.smi_units import rewrite_reports
from tests.fixtures import GEFORCE, fixtures

[(_, Q, _)] = list(fixtures("q-h100"))
[(_, QX, _)] = list(fixtures("qx-h100"))
SLICES = ["MIG-b05c0034-4d0e-5d3c-a25c-e6795d1779df", "MIG-be041b89-b751-5c96-84aa-85315833c669"]
HOST_UUID = "GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1"
DEVICES = [("1", "0", 29), ("2", "0", 15)]  # (GPU instance, compute instance, MiB used)


def field(label, value, indent):
    return (" " * indent + label).ljust(42) + ": " + value


def text_device(index, gi, ci, used, indent, memory):
    return [" " * indent + "MIG Device", field("Index", str(index), indent + 4), field("GPU Instance ID", gi, indent + 4),
            field("Compute Instance ID", ci, indent + 4), " " * (indent + 4) + "Device Attributes", " " * (indent + 8) + "Shared",
            field("Multiprocessor count", "16", indent + 12), " " * (indent + 4) + memory,
            field("Total", "16384 MiB", indent + 8), field("Reserved", "0 MiB", indent + 8), field("Used", "{} MiB".format(used), indent + 8),
            field("Free", "{} MiB".format(16384 - used), indent + 8)]


def mig_q(devices=DEVICES, layout="610", busy=None):
    """The H100 report in MIG mode: its devices after MIG Mode, one process on each of the first `busy`."""
    lines = [line.replace(": Disabled", ": Enabled") if i in (Q.index("    MIG Mode") + 1, Q.index("    MIG Mode") + 2) else line
             for i, line in enumerate(Q)]
    if layout == "610":
        listed = [line for i, d in enumerate(devices) for line in text_device(i, *d, 4, "Shared FB Memory Usage")]
    else:
        listed = ["    MIG Devices"] + [line for i, d in enumerate(devices) for line in text_device(i, *d, 8, "FB Memory Usage")]
    at = lines.index("    MIG Mode") + 3
    lines[at:at] = listed
    processes = [line for n, (gi, ci, _) in enumerate(devices[:busy]) for line in (
        field("GPU instance ID", gi, 8), field("Compute instance ID", ci, 8), field("Process ID", str(4300 + n), 8),
        field("Type", "C", 12), field("Name", "python", 12), field("Used GPU Memory", "{} MiB".format(10 + n), 12))]
    at = lines.index("    Processes                             : None")
    lines[at:at + 1] = ["    Processes"] + processes
    return lines


def mig_qx(devices=DEVICES):
    lines = [line.replace(">Disabled<", ">Enabled<") if "_mig>" in line else line for line in QX]
    at = lines.index("\t\t<mig_devices>")
    lines[at + 1:at + 2] = [line for i, (gi, ci, used) in enumerate(devices) for line in (
        "\t\t\t<mig_device>", "\t\t\t\t<index>{}</index>".format(i), "\t\t\t\t<gpu_instance_id>{}</gpu_instance_id>".format(gi),
        "\t\t\t\t<compute_instance_id>{}</compute_instance_id>".format(ci), "\t\t\t\t<fb_memory_usage>",
        "\t\t\t\t\t<total>16384 MiB</total>", "\t\t\t\t\t<used>{} MiB</used>".format(used), "\t\t\t\t</fb_memory_usage>", "\t\t\t</mig_device>")]
    at = lines.index("\t\t<processes>")
    lines[at + 1:at + 1] = [line for n, (gi, ci, _) in enumerate(devices) for line in (
        "\t\t\t<process_info>", "\t\t\t\t<gpu_instance_id>{}</gpu_instance_id>".format(gi),
        "\t\t\t\t<compute_instance_id>{}</compute_instance_id>".format(ci), "\t\t\t\t<pid>{}</pid>".format(4300 + n),
        "\t\t\t\t<used_memory>{} MiB</used_memory>".format(10 + n), "\t\t\t</process_info>")]
    return lines


def blocks(report):
    """Each GPU block of a -q report as {label: value} of its lines, and the report's text."""
    text = "\n".join(report)
    found = []
    for block in re.split(r"\n(?=GPU \S+\n)", text)[1:]:
        values = {}
        section = ""
        for line in block.split("\n")[1:]:
            key, sep, value = line.partition(" : ")
            if line.startswith("    ") and not line.startswith("     "):
                section = key.strip()
            values.setdefault((section, key.strip()), value.strip() if sep else None)
        found.append(values)
    return found


def processes(report):
    return re.findall(r"Process ID\s+: (\d+)", "\n".join(report))


class TextReportTest(unittest.TestCase):
    def two_slices(self, layout):
        return list(rewrite_reports(mig_q(layout=layout), GEFORCE._replace(count=2), SLICES, False))

    def test_two_slices_are_two_gpus(self):
        for layout in ("610", "before 610"):
            with self.subTest(layout=layout):
                out = self.two_slices(layout)
                self.assertIn("Attached GPUs                             : 2", out)
                shown = blocks(out)
                self.assertEqual(len(shown), 2)
                for i, gpu in enumerate(shown):
                    self.assertEqual(gpu[("Product Name", "Product Name")], "NVIDIA GeForce RTX 3090")
                    self.assertEqual(gpu[("GPU UUID", "GPU UUID")], SLICES[i], "the UUID -L and --query-gpu show")
                    self.assertEqual(gpu[("Minor Number", "Minor Number")], str(i))
                    used = DEVICES[i][2]
                    self.assertEqual([gpu[("FB Memory Usage", k)] for k in ("Total", "Used", "Free")],
                                     ["24576 MiB", "{} MiB".format(used), "{} MiB".format(24576 - used)], "the slice's own use")
                    self.assertEqual(gpu[("MIG Mode", "Current")], "N/A")
                text = "\n".join(out)
                for host in ("MIG Device", "Shared FB", "16384", "H100", "Instance ID", HOST_UUID):
                    self.assertNotIn(host, text)
                self.assertEqual(processes(out), ["4300", "4301"], "each slice's process under its own GPU, once")
                first = "\n".join(out).split("\nGPU ")[1]
                self.assertIn("        GPU instance ID                   : N/A", first, "GI and CI read N/A, as in the table")
                self.assertNotIn("4301", first)

    def test_a_slice_without_processes_reads_none(self):
        out = list(rewrite_reports(mig_q(devices=DEVICES + [("3", "0", 7)], busy=2), GEFORCE._replace(count=3), SLICES + ["MIG-third"], False))
        third = "\n".join(out).split("\nGPU ")[3]
        self.assertIn("    Processes                             : None", third.split("\n"))
        self.assertEqual(processes(out), ["4300", "4301"])

    def test_one_slice(self):
        out = list(rewrite_reports(mig_q(devices=DEVICES[1:]), GEFORCE, SLICES[1:], False))
        [gpu] = blocks(out)
        self.assertEqual(gpu[("GPU UUID", "GPU UUID")], SLICES[1])
        self.assertEqual(gpu[("FB Memory Usage", "Used")], "15 MiB")
        self.assertIn("Attached GPUs                             : 1", out)

    def test_the_session_count_caps_the_blocks(self):
        out = list(rewrite_reports(mig_q(), GEFORCE, SLICES[:1], False))
        self.assertEqual([g[("GPU UUID", "GPU UUID")] for g in blocks(out)], SLICES[:1])
        self.assertEqual(processes(out), ["4300"])

    def test_a_report_without_mig_devices_splits_into_the_containers_slices(self):
        out = list(rewrite_reports(Q, GEFORCE._replace(count=2), SLICES, False))
        self.assertEqual([g[("GPU UUID", "GPU UUID")] for g in blocks(out)], SLICES)
        self.assertEqual([g[("FB Memory Usage", "Used")] for g in blocks(out)], ["2 MiB", "2 MiB"], "the GPU's own use, as the table shows")
        self.assertIn("Attached GPUs                             : 2", out)

    def test_whole_gpus_keep_their_blocks(self):
        second = [line.replace("00000000:19:00.0", "00000000:2A:00.0").replace(HOST_UUID, "GPU-second").replace("Minor Number                          : 0", "Minor Number                          : 1") for line in Q[6:]]
        report = [line.replace(": 1", ": 2") if line.startswith("Attached") else line for line in Q] + second
        out = list(rewrite_reports(report, GEFORCE._replace(count=2), [], False))
        self.assertEqual(out, rewrite_full_query(report, GEFORCE), "as before: each GPU's block rewritten in place")
        self.assertEqual([(g[("GPU UUID", "GPU UUID")], g[("Minor Number", "Minor Number")]) for g in blocks(out)], [(HOST_UUID, "0"), ("GPU-second", "1")])

    def test_one_gpu_reads_as_before(self):
        for name, lines, _ in fixtures("q-"):
            with self.subTest(fixture=name):
                self.assertEqual(list(rewrite_reports(lines, GEFORCE, [], False)), rewrite_full_query(lines, GEFORCE))

    def test_a_loop_rewrites_each_report(self):
        out = list(rewrite_reports(mig_q() + mig_q(), GEFORCE._replace(count=2), SLICES, False))
        self.assertEqual(len(blocks(out)), 4)
        self.assertEqual(out.count("Attached GPUs                             : 2"), 2)


class XmlReportTest(unittest.TestCase):
    def test_two_slices_are_two_gpus(self):
        out = list(rewrite_reports(mig_qx(), GEFORCE._replace(count=2), SLICES, True))
        root = ElementTree.fromstring("\n".join(out[2:]))
        self.assertEqual(root.findtext("attached_gpus"), "2")
        gpus = root.findall("gpu")
        self.assertEqual([g.findtext("uuid") for g in gpus], SLICES)
        self.assertEqual([g.findtext("minor_number") for g in gpus], ["0", "1"])
        self.assertEqual([g.findtext("fb_memory_usage/used") for g in gpus], ["29 MiB", "15 MiB"])
        self.assertEqual([g.findtext("fb_memory_usage/total") for g in gpus], ["24576 MiB"] * 2)
        self.assertEqual([g.findtext("mig_devices").strip() for g in gpus], ["None"] * 2)
        self.assertEqual([[p.findtext("pid") for p in g.iter("process_info")] for g in gpus], [["4300"], ["4301"]])
        self.assertEqual({p.findtext("gpu_instance_id") for p in root.iter("process_info")}, {"N/A"})
        text = "\n".join(out)
        for host in ("H100", "16384", HOST_UUID):
            self.assertNotIn(host, text)

    def test_one_gpu_reads_as_before(self):
        from gpudev_shim.smi_xml import XmlRewriter
        rewriter = XmlRewriter(GEFORCE)
        before = [o for o in (rewriter.feed(line) for line in QX) if o is not None]
        self.assertEqual(list(rewrite_reports(QX, GEFORCE, [], True)), before)


if __name__ == "__main__":
    unittest.main()
