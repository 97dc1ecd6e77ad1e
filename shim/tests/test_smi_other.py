import re
import unittest

from gpudev_shim.smi import query_format
from gpudev_shim.smi_other import product_brand, rewrite_full_query, rewrite_list_line, rewrite_query_line
from tests.fixtures import TARGETS, fixtures

RTX3090, L4 = TARGETS[0], TARGETS[1]


class ListTest(unittest.TestCase):
    def test_every_listing(self):
        for name, lines, _ in fixtures("list-"):
            with self.subTest(fixture=name):
                out = [o for o in (rewrite_list_line(line, RTX3090) for line in lines) if o is not None]
                gpus = [line for line in lines if line.startswith("GPU ")]
                self.assertEqual(len(out), len(gpus), "MIG sub-lines removed")
                for before, after in zip(gpus, out):
                    self.assertEqual(after.split(" (UUID: ")[1], before.split(" (UUID: ")[1], "UUID kept")
                    self.assertTrue(after.startswith(before.split(":")[0] + ": NVIDIA GeForce RTX 3090 (UUID: GPU-"))
                self.assertFalse(any("MIG" in line or "H100" in line or "H200" in line for line in out))


class QueryTest(unittest.TestCase):
    def test_both_argument_forms(self):
        self.assertEqual(query_format(["--query-gpu=name,memory.total", "--format=csv,noheader"]), {"fields": ["name", "memory.total"], "header": False, "units": True})
        self.assertEqual(query_format(["--query-gpu", "name", "--format", "csv,noheader,nounits"]), {"fields": ["name"], "header": False, "units": False})
        self.assertIsNone(query_format(["-L"]))

    def test_every_query_fixture(self):
        for name, lines, meta in fixtures("query-"):
            with self.subTest(fixture=name):
                query = query_format(meta["command"].split()[1:])
                out = [rewrite_query_line(line, query, L4, i == 0) for i, line in enumerate(lines)]
                rows = out[1:] if query["header"] else out
                index = {field: i for i, field in enumerate(query["fields"])}
                for row in rows:
                    values = row.split(", ")
                    if "name" in index:
                        self.assertEqual(values[index["name"]], "NVIDIA L4")
                    if "memory.total" in index:
                        self.assertEqual(values[index["memory.total"]], "23034" if not query["units"] else "23034 MiB")
                    if "mig.mode.current" in index:
                        self.assertEqual(values[index["mig.mode.current"]], "Disabled")
                    if "temperature.gpu" in index:
                        self.assertEqual(row, lines[out.index(row)], "fields not about identity stay real")

    def test_free_memory_is_the_cap_minus_real_use_and_never_more_than_real_free(self):
        query = {"fields": ["memory.used", "memory.free", "memory.total", "power.limit", "power.draw"], "header": False, "units": False}
        self.assertEqual(rewrite_query_line("1024, 80535, 81559, 700.00, 123.45", query, RTX3090, True), "1024, 23552, 24576, 350.00, 123.45")
        self.assertEqual(rewrite_query_line("1024, 100, 81559, [N/A], 5.00", query, RTX3090, True), "1024, 100, 24576, [N/A], 5.00")
        self.assertEqual(rewrite_query_line("garbage", query, RTX3090, True), "garbage")

    def test_compute_capability_is_the_targets(self):
        query = {"fields": ["name", "compute_cap"], "header": True, "units": True}
        lines = ["name, compute_cap", "NVIDIA B300 SXM6 AC, 10.3"]
        out = [rewrite_query_line(line, query, RTX3090, i == 0) for i, line in enumerate(lines)]
        self.assertEqual(out, ["name, compute_cap", "NVIDIA GeForce RTX 3090, 8.6"])
        unknown = RTX3090._replace(compute_capability=None)
        self.assertEqual(rewrite_query_line(lines[1], query, unknown, False), "NVIDIA GeForce RTX 3090, 10.3")


class FullQueryTest(unittest.TestCase):
    def test_q_fixture(self):
        [(_, lines, _)] = list(fixtures("q-"))
        out = rewrite_full_query(lines, L4)
        text = "\n".join(out)
        self.assertNotIn("H100", text)
        self.assertIn("    Product Name                          : NVIDIA L4", out)
        fb = out[out.index("    FB Memory Usage") + 1:out.index("    FB Memory Usage") + 5]
        self.assertIn("        Total                             : 23034 MiB", fb)
        used = int(re.search(r"Used\s+: (\d+) MiB", "\n".join(fb)).group(1))
        self.assertIn("        Free                              : {} MiB".format(23034 - used), fb)
        limits = re.findall(r"(Current|Default|Max|Min) Power Limit\s+: ([\d.]+) W", text)
        self.assertTrue(limits)
        self.assertTrue(all(float(w) <= 72 for _, w in limits), limits)
        self.assertNotIn("Enabled\n", text.split("MIG Mode")[1].split("Accounting")[0])

    def test_q_names_the_targets_architecture_and_brand_and_not_the_hosts_board(self):
        [(_, lines, _)] = list(fixtures("q-"))
        out = rewrite_full_query(lines, L4._replace(compute_capability=(8, 9)))
        self.assertIn("    Product Brand                         : NVIDIA", out)
        self.assertIn("    Product Architecture                  : Ada Lovelace", out)
        self.assertNotIn("Hopper", "\n".join(out))
        for label in ("Board Part Number", "GPU Part Number"):
            self.assertIn("    {} : N/A".format(label.ljust(37)), out)
        self.assertNotIn("692-2G520-0200-000", "\n".join(out))

    def test_product_brand(self):
        self.assertEqual(product_brand("NVIDIA GeForce RTX 3090"), "GeForce")
        self.assertEqual(product_brand("NVIDIA RTX 6000 Ada Generation"), "NVIDIA RTX")
        self.assertEqual(product_brand("NVIDIA RTX A6000"), "NVIDIA RTX")
        self.assertEqual(product_brand("Tesla T4"), "NVIDIA")
        self.assertEqual(product_brand("NVIDIA L4"), "NVIDIA")


if __name__ == "__main__":
    unittest.main()
