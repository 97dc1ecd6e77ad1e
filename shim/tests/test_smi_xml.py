import unittest
import xml.etree.ElementTree as ElementTree

from gpudev_shim.smi_xml import XmlRewriter
from tests.fixtures import A100, GEFORCE, TARGETS, fixtures

[(_, LINES, META)] = list(fixtures("qx-"))
L4 = TARGETS[1]


def rewrite(target, lines=LINES):
    rewriter = XmlRewriter(target)
    out = [o for o in (rewriter.feed(line) for line in lines) if o is not None]
    return out, ElementTree.fromstring("\n".join(out[2:]))


class XmlTest(unittest.TestCase):
    def test_the_fixture_says_it_is_constructed(self):
        self.assertIn("constructed", META["source_repo_or_url"])

    def test_rewritten_like_q(self):
        out, root = rewrite(L4._replace(compute_capability=(8, 9)))
        gpu = root.find("gpu")
        self.assertEqual(gpu.findtext("product_name"), "NVIDIA L4")
        self.assertEqual(gpu.findtext("product_brand"), "NVIDIA")
        self.assertEqual(gpu.findtext("product_architecture"), "Ada Lovelace")
        self.assertEqual(gpu.findtext("fb_memory_usage/total"), "23034 MiB")
        self.assertEqual(gpu.findtext("fb_memory_usage/free"), "{} MiB".format(23034 - 2))
        self.assertEqual(gpu.findtext("bar1_memory_usage/total"), "131072 MiB", "BAR1 stays real")
        for tag in ("serial", "board_part_number", "gpu_part_number"):
            self.assertEqual(gpu.findtext(tag), "N/A")
        power = gpu.find("gpu_power_readings")
        self.assertEqual([power.findtext(t) for t in ("current_power_limit", "default_power_limit", "min_power_limit", "max_power_limit")], ["72.00 W"] * 4)
        self.assertEqual(power.findtext("power_draw"), "72.02 W", "the draw stays real")
        self.assertEqual(gpu.findtext("mig_mode/current_mig"), "Disabled")
        self.assertEqual(gpu.findtext("uuid"), "GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1")
        text = "\n".join(out)
        for host in ("H100", "Hopper", "700.00 W", "81559", "692-2G520"):
            self.assertNotIn(host, text)
        self.assertEqual(len("\n".join(out).split("\n")), len(LINES))

    def test_a_geforce_target_has_no_ecc_and_no_mig(self):
        out, root = rewrite(GEFORCE)
        gpu = root.find("gpu")
        self.assertEqual(gpu.findtext("product_brand"), "GeForce")
        self.assertEqual([gpu.findtext("ecc_mode/" + t) for t in ("current_ecc", "pending_ecc")], ["N/A", "N/A"])
        self.assertEqual({e.text for e in gpu.find("ecc_errors").iter() if len(e) == 0}, {"N/A"})
        self.assertEqual({e.text for e in gpu.find("retired_pages").iter() if len(e) == 0}, {"N/A"})
        self.assertEqual(gpu.findtext("remapped_rows/remapped_row_corr"), "0", "Ampere and later remap rows")
        self.assertEqual(gpu.findtext("inforom_version/ecc_object"), "N/A")
        self.assertEqual([gpu.findtext("mig_mode/" + t) for t in ("current_mig", "pending_mig")], ["N/A", "N/A"])

    def test_a_target_before_ampere_has_no_remapped_rows(self):
        out, root = rewrite(GEFORCE._replace(compute_capability=(6, 1)))
        self.assertEqual(root.find("gpu").findtext("remapped_rows"), "N/A")
        self.assertIn("\t\t<remapped_rows>N/A</remapped_rows>", out)

    def test_a_target_with_ecc_keeps_the_hosts_ecc(self):
        _, root = rewrite(A100)
        gpu = root.find("gpu")
        self.assertEqual(gpu.findtext("ecc_mode/current_ecc"), "Enabled")
        self.assertEqual(gpu.findtext("remapped_rows/remapped_row_corr"), "0")

    def test_mig_devices_read_none_and_mig_mode_utilisation_a_percent(self):
        lines = ["<nvidia_smi_log>", "\t<gpu id=\"00000000:2A:00.0\">", "\t\t<mig_mode>", "\t\t\t<current_mig>Enabled</current_mig>",
                 "\t\t</mig_mode>", "\t\t<mig_devices>", "\t\t\t<mig_device>", "\t\t\t\t<index>0</index>", "\t\t\t</mig_device>",
                 "\t\t</mig_devices>", "\t\t<utilization>", "\t\t\t<gpu_util>N/A</gpu_util>", "\t\t</utilization>",
                 "\t\t<processes>", "\t\t\t<process_info>", "\t\t\t\t<gpu_instance_id>5</gpu_instance_id>",
                 "\t\t\t\t<compute_instance_id>0</compute_instance_id>", "\t\t\t</process_info>", "\t\t</processes>", "\t</gpu>", "</nvidia_smi_log>"]
        rewriter = XmlRewriter(GEFORCE)
        out = [o for o in (rewriter.feed(line) for line in lines) if o is not None]
        gpu = ElementTree.fromstring("\n".join(out)).find("gpu")
        self.assertEqual(gpu.findtext("mig_mode/current_mig"), "N/A")
        self.assertEqual(gpu.findtext("mig_devices").strip(), "None")
        self.assertEqual(gpu.findtext("utilization/gpu_util"), "0 %")
        self.assertEqual(gpu.findtext("processes/process_info/gpu_instance_id"), "N/A")

    def test_names_are_escaped(self):
        _, root = rewrite(L4._replace(name="A <B> & C"))
        self.assertEqual(root.find("gpu").findtext("product_name"), "A <B> & C")


if __name__ == "__main__":
    unittest.main()
