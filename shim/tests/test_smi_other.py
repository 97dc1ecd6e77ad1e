import re
import unittest

from gpudev_shim.smi import query_format, visible_slices
from gpudev_shim.smi_full import rewrite_full_query
from gpudev_shim.smi_other import product_brand, rewrite_listing, rewrite_query, rewrite_query_row
from tests.fixtures import A100, GEFORCE, TARGETS, fixtures

RTX3090, L4 = TARGETS[0], TARGETS[1]
H200_SLICES = ["MIG-b05c0034-4d0e-5d3c-a25c-e6795d1779df", "MIG-be041b89-b751-5c96-84aa-85315833c669"]


def query(lines, fields, target, header=True, units=True, slices=(), loop=False):
    return list(rewrite_query(lines, {"fields": fields, "header": header, "units": units}, target, list(slices), loop))


class ListTest(unittest.TestCase):
    def test_every_listing(self):
        for name, lines, _ in fixtures("list-"):
            with self.subTest(fixture=name):
                gpus = [line for line in lines if line.startswith("GPU ")]
                migs = [line for line in lines if line.lstrip().startswith("MIG ")]
                count = len(migs) or len(gpus)
                out = rewrite_listing(lines, RTX3090._replace(count=count))
                self.assertEqual(len(out), count, "one line per target GPU")
                uuids = [line.split(" (UUID: ")[1] for line in (migs or gpus)]
                for i, (after, uuid) in enumerate(zip(out, uuids)):
                    self.assertEqual(after, "GPU {}: NVIDIA GeForce RTX 3090 (UUID: {}".format(i, uuid))
                self.assertFalse(any("H100" in line or "H200" in line or "  MIG" in line for line in out))

    def test_the_session_lists_count_gpus(self):
        [(_, lines, _)] = list(fixtures("list-h100-80gb-hbm3-x8"))
        self.assertEqual([line[:6] for line in rewrite_listing(lines, RTX3090._replace(count=2))], ["GPU 0:", "GPU 1:"])
        [(_, lines, _)] = list(fixtures("list-h200-x8-mig"))
        out = rewrite_listing(lines, RTX3090._replace(count=2))
        self.assertEqual(out, ["GPU {}: NVIDIA GeForce RTX 3090 (UUID: {})".format(i, u) for i, u in enumerate(H200_SLICES)])

    def test_other_lines_pass_through(self):
        self.assertEqual(rewrite_listing(["No devices found."], RTX3090), ["No devices found."])


class QueryTest(unittest.TestCase):
    def test_both_argument_forms(self):
        self.assertEqual(query_format(["--query-gpu=name,memory.total", "--format=csv,noheader"]), {"fields": ["name", "memory.total"], "header": False, "units": True})
        self.assertEqual(query_format(["--query-gpu", "name", "--format", "csv,noheader,nounits"]), {"fields": ["name"], "header": False, "units": False})
        self.assertIsNone(query_format(["-L"]))

    def test_every_query_fixture(self):
        for name, lines, meta in fixtures("query-"):
            with self.subTest(fixture=name):
                q = query_format(meta["command"].split()[1:])
                out = list(rewrite_query(lines, q, L4._replace(count=8), [], False))
                self.assertEqual(len(out), len(lines))
                rows = out[1:] if q["header"] else out
                index = {field: i for i, field in enumerate(q["fields"])}
                for row in rows:
                    values = row.split(", ")
                    if "name" in index:
                        self.assertEqual(values[index["name"]], "NVIDIA L4")
                    if "memory.total" in index:
                        self.assertEqual(values[index["memory.total"]], "23034" if not q["units"] else "23034 MiB")
                    if "mig.mode.current" in index:
                        self.assertEqual(values[index["mig.mode.current"]], "Disabled")
                    if "temperature.gpu" in index:
                        self.assertEqual(row, lines[out.index(row)], "fields not about identity stay real")

    def test_free_memory_is_the_cap_minus_real_use_and_never_more_than_real_free(self):
        q = {"fields": ["memory.used", "memory.free", "memory.total", "power.limit", "power.draw"], "header": False, "units": False}
        self.assertEqual(rewrite_query_row("1024, 80535, 81559, 700.00, 123.45", q, RTX3090), "1024, 23552, 24576, 350.00, 123.45")
        self.assertEqual(rewrite_query_row("1024, 100, 81559, [N/A], 5.00", q, RTX3090), "1024, 100, 24576, [N/A], 5.00")
        self.assertEqual(rewrite_query_row("garbage", q, RTX3090), "garbage")

    def test_compute_capability_is_the_targets(self):
        lines = ["name, compute_cap", "NVIDIA B300 SXM6 AC, 10.3"]
        self.assertEqual(query(lines, ["name", "compute_cap"], RTX3090), ["name, compute_cap", "NVIDIA GeForce RTX 3090, 8.6"])
        unknown = RTX3090._replace(compute_capability=None)
        self.assertEqual(query(lines, ["name", "compute_cap"], unknown)[1], "NVIDIA GeForce RTX 3090, 10.3")

    FEATURES = ["compute_cap", "ecc.mode.current", "ecc.mode.pending", "mig.mode.current", "mig.mode.pending", "utilization.gpu"]

    def test_ecc_mig_and_utilisation_follow_the_target_like_the_table(self):
        host = ["9.0, Enabled, Enabled, Enabled, Enabled, [N/A]"]
        self.assertEqual(query(host, self.FEATURES, GEFORCE, header=False), ["8.6, [N/A], [N/A], [N/A], [N/A], 0 %"])
        self.assertEqual(query(host, self.FEATURES, A100, header=False, units=False), ["8.6, Enabled, Enabled, Disabled, Disabled, 0"])
        no_ecc_host = ["8.6, [N/A], [N/A], [N/A], [N/A], 37 %"]
        self.assertEqual(query(no_ecc_host, self.FEATURES, A100, header=False), ["8.6, Disabled, Disabled, Disabled, Disabled, 37 %"])
        self.assertEqual(query(no_ecc_host, self.FEATURES, TARGETS[0], header=False), no_ecc_host, "features unknown: the host's")

    def test_one_row_per_visible_mig_slice(self):
        env = {"NVIDIA_VISIBLE_DEVICES": ",".join(H200_SLICES)}
        self.assertEqual(visible_slices(env), H200_SLICES)
        self.assertEqual(visible_slices({"NVIDIA_VISIBLE_DEVICES": "0,1"}), [])
        lines = ["index, uuid, name, utilization.gpu [%]", "0, GPU-b2acda36-db78-a209-f9ef-d07b4336c449, NVIDIA H200, [N/A]"]
        out = query(lines, ["index", "uuid", "name", "utilization.gpu"], GEFORCE._replace(count=2), slices=H200_SLICES)
        self.assertEqual(out, [lines[0]] + ["{}, {}, NVIDIA GeForce RTX 3090, 0 %".format(i, u) for i, u in enumerate(H200_SLICES)])
        one = query(lines, ["index", "uuid", "name", "utilization.gpu"], GEFORCE, slices=H200_SLICES)
        self.assertEqual(len(one), 2, "a one-GPU session: its first slice")

    def test_an_error_passes_once(self):
        out = query(["No devices were found"], ["index", "uuid"], GEFORCE._replace(count=2), header=False, slices=H200_SLICES)
        self.assertEqual(out, ["No devices were found"])

    def test_the_session_answers_for_count_gpus_and_a_loop_streams(self):
        [(_, lines, _)] = list(fixtures("query-h100-x8-name-memtotal"))
        self.assertEqual(len(query(lines, ["name", "memory.total"], RTX3090._replace(count=2))), 3)
        looped = query(lines, ["name", "memory.total"], RTX3090, loop=True)
        self.assertEqual(len(looped), len(lines), "a loop streams every row")


class FullQueryTest(unittest.TestCase):
    def q_fixture(self, target):
        [(_, lines, _)] = list(fixtures("q-h100"))
        return lines, rewrite_full_query(lines, target)

    def test_q_fixture(self):
        _, out = self.q_fixture(L4)
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
        _, out = self.q_fixture(L4._replace(compute_capability=(8, 9)))
        self.assertIn("    Product Brand                         : NVIDIA", out)
        self.assertIn("    Product Architecture                  : Ada Lovelace", out)
        self.assertNotIn("Hopper", "\n".join(out))
        for label in ("Board Part Number", "GPU Part Number"):
            self.assertIn("    {} : N/A".format(label.ljust(37)), out)
        self.assertNotIn("692-2G520-0200-000", "\n".join(out))

    def test_a_target_without_ecc_or_mig_reads_as_a_geforce(self):
        [(_, geforce, _)] = list(fixtures("q-rtx4070"))
        lines, out = self.q_fixture(GEFORCE._replace(compute_capability=(8, 9)))
        text = "\n".join(out)

        def values(report, title):
            body = "\n".join(report).split("\n    " + title + "\n")[1]
            return set(re.findall(r": (.+)", re.split(r"\n    (?=\S)", body)[0]))

        for title in ("ECC Mode", "ECC Errors", "Retired Pages", "MIG Mode"):
            self.assertEqual(values(out, title), values(geforce, title), title + " as the GeForce prints it")
        self.assertEqual(values(out, "ECC Mode"), {"N/A"})
        self.assertIn("        ECC Object                        : N/A", out)
        self.assertIn("Bank Remap Availability Histogram", text, "Ada remaps rows, as the RTX 4070's report shows")
        self.assertEqual(len(out), len(lines))

    def test_a_target_before_ampere_has_no_remapped_rows(self):
        lines, out = self.q_fixture(GEFORCE._replace(compute_capability=(6, 1)))
        self.assertIn("    Remapped Rows                         : N/A", out)
        self.assertNotIn("Bank Remap", "\n".join(out))
        self.assertEqual(len(out), len(lines) - 10, "the remapped rows block (11 lines) is one line")

    def test_the_geforce_report_itself_is_rewritten_without_change_to_its_ecc(self):
        [(_, geforce, _)] = list(fixtures("q-rtx4070"))
        out = rewrite_full_query(geforce, GEFORCE)
        self.assertIn("    Product Name                          : NVIDIA GeForce RTX 3090", out)
        self.assertEqual([o for o in out if "ECC" in o or "MIG" in o], [g for g in geforce if "ECC" in g or "MIG" in g])

    def test_a_target_with_ecc_and_mig_keeps_the_hosts_ecc(self):
        _, out = self.q_fixture(A100)
        text = "\n".join(out)
        self.assertIn("    ECC Mode\n        Current                           : Enabled", text)
        self.assertIn("Bank Remap Availability Histogram", text)
        self.assertIn("    MIG Mode\n        Current                           : Disabled", text)

    def test_utilisation_in_mig_mode_reads_a_percent(self):
        lines = ["    Utilization", "        Gpu                               : N/A", "        Memory                            : N/A"]
        self.assertEqual(rewrite_full_query(lines, GEFORCE)[1], "        Gpu                               : 0 %")

    def test_product_brand(self):
        self.assertEqual(product_brand("NVIDIA GeForce RTX 3090"), "GeForce")
        self.assertEqual(product_brand("NVIDIA RTX 6000 Ada Generation"), "NVIDIA RTX")
        self.assertEqual(product_brand("NVIDIA RTX A6000"), "NVIDIA RTX")
        self.assertEqual(product_brand("NVIDIA RTX PRO 6000 Blackwell Server Edition"), "NVIDIA RTX")
        self.assertEqual(product_brand("Tesla T4"), "NVIDIA")
        self.assertEqual(product_brand("NVIDIA L4"), "NVIDIA")


if __name__ == "__main__":
    unittest.main()


class ProcessSessionGpuTest(unittest.TestCase):
    """A process session sees every host GPU: calls are pointed at its own (GPUDEV_HOST_GPUS)."""

    def test_calls_that_name_no_gpu_get_the_sessions(self):
        from gpudev_shim.smi import pointed_at_session
        env = {"GPUDEV_HOST_GPUS": "GPU-aaaa"}
        self.assertEqual(pointed_at_session([], env), ["-i", "GPU-aaaa"])
        self.assertEqual(pointed_at_session(["--query-gpu=name", "--format=csv"], env)[-2:], ["-i", "GPU-aaaa"])
        self.assertEqual(pointed_at_session(["-i", "3"], env), ["-i", "3"])
        self.assertEqual(pointed_at_session(["-L"], env), ["-L"])
        self.assertEqual(pointed_at_session([], {}), [])

    def test_listing_keeps_only_the_sessions_gpu(self):
        from gpudev_shim.smi_other import rewrite_listing
        lines = ["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-0000-0000-0000-000000000000)",
                 "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-11111111-1111-1111-1111-111111111111)"]
        shown = rewrite_listing(lines, GEFORCE,
                                ["GPU-11111111-1111-1111-1111-111111111111"])
        self.assertEqual(shown, ["GPU 1: NVIDIA GeForce RTX 3090 (UUID: GPU-11111111-1111-1111-1111-111111111111)"])
