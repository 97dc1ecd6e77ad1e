"""bin/nvidia-smi over the project's fake GPU (lab/fake-gpu) as a container of a multi-GPU or
multi-slice session sees it: NVIDIA_VISIBLE_DEVICES naming its GPUs or MIG devices."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REPO = os.path.dirname(SHIM)
FAKE_GPU_BIN = os.path.join(REPO, "lab", "fake-gpu", "bin")
FAKE_GPU_BUILT = os.path.exists(os.path.join(REPO, "dist", "lab", "nvidia-smi.js"))
GEFORCE = {"GPUDEV_TARGET": "rtx3090", "GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * 1024 ** 3),
           "GPUDEV_TDP_W": "350", "GPUDEV_COMPUTE_CAP": "8.6", "GPUDEV_GPU_COUNT": "2", "GPUDEV_ECC": "0", "GPUDEV_MIG_CAPABLE": "0"}
IDENTITY = re.compile(r"^\|\s+(\d+)\s+NVIDIA GeForce RTX 3090\s+\S+\s+\|\s+\S+\s+\S+\s+\|\s+(\S+) \|$")


def gpu_rows(table):
    """(index, Volatile Uncorr. ECC, GPU-Util, MIG M.) of each GPU the table shows."""
    lines = table.split("\n")
    found = [(i, IDENTITY.match(line)) for i, line in enumerate(lines) if IDENTITY.match(line)]
    return [(m.group(1), m.group(2), lines[i + 1].split("|")[3].split()[0], lines[i + 2].split("|")[3].strip()) for i, m in found]


def clean_env(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GPUDEV_", "NVIDIA_VISIBLE"))}
    return dict(base, **env)


@unittest.skipUnless(FAKE_GPU_BUILT or os.environ.get("CI") == "true", "the fake GPU is built by `node esbuild.mjs --tests`")
class FakeGpuSessionTest(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.state)

    def fake(self, scenario, *args, **env):
        done = subprocess.run([os.path.join(FAKE_GPU_BIN, "nvidia-smi")] + list(args), capture_output=True, text=True, timeout=60,
                              env=clean_env(GPUDEV_FAKE_SMI_SCENARIO=scenario, **env))
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def shim(self, scenario, *args, **env):
        path = os.pathsep.join([os.path.join(SHIM, "bin"), FAKE_GPU_BIN, os.environ.get("PATH", "")])
        done = subprocess.run([sys.executable, os.path.join(SHIM, "bin", "nvidia-smi")] + list(args), capture_output=True, text=True,
                              timeout=60, env=clean_env(PATH=path, GPUDEV_FAKE_SMI_SCENARIO=scenario, **dict(GEFORCE, **env)))
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_two_gpus_of_the_8_h100_host(self):
        scenario = "default-h100-x8-570.133.20"
        uuids = re.findall(r"\(UUID: (GPU-[^)]+)\)", self.fake(scenario, "-L"))
        visible = {"NVIDIA_VISIBLE_DEVICES": ",".join([uuids[2], uuids[5]])}
        table = self.shim(scenario, **visible)
        # The fake keeps the host's indices where a container's runtime would number them 0 and 1.
        self.assertEqual(gpu_rows(table), [("2", "N/A", "100%", "N/A"), ("5", "N/A", "73%", "N/A")], "GPUs 2 and 5, with their own utilisation")
        self.assertNotIn("H100", table)
        self.assertEqual(re.findall(r"^\|\s+(\d+)\s+N/A\s+N/A\s+\d+\s+C", table, re.M), ["2", "5"], "their processes")
        listing = self.shim(scenario, "-L", **visible).split("\n")[:-1]
        self.assertEqual(listing, ["GPU {}: NVIDIA GeForce RTX 3090 (UUID: {})".format(i, uuids[i]) for i in (2, 5)])
        query = self.shim(scenario, "--query-gpu=uuid,name,memory.total,mig.mode.current", "--format=csv,noheader", **visible)
        self.assertEqual(query.split("\n")[:-1], ["{}, NVIDIA GeForce RTX 3090, 24576 MiB, [N/A]".format(u) for u in (uuids[2], uuids[5])])
        report = self.shim(scenario, "-q", **visible)
        self.assertEqual(re.findall(r"GPU UUID\s+: (\S+)", report), [uuids[2], uuids[5]], "whole GPUs keep their own blocks")
        self.assertEqual(re.findall(r"Minor Number\s+: (\d+)", report), ["2", "5"])
        self.assertEqual(re.findall(r"Attached GPUs\s+: (\d+)", report), ["2"])
        self.assertEqual(re.findall(r"<uuid>([^<]+)</uuid>", self.shim(scenario, "-q", "-x", **visible)), [uuids[2], uuids[5]])

    def test_two_mig_slices_of_one_h200(self):
        scenario = "mig-h200-570.86.15-container-2dev"
        state = {"GPUDEV_FAKE_GPU_STATE": self.state}
        for start in ("0", "1"):
            self.fake(scenario, "mig", "-i", "0", "-cgi", "19:" + start, "-C", **state)
        slices = re.findall(r"\(UUID: (MIG-[^)]+)\)", self.fake(scenario, "-L", **state))
        self.assertEqual(len(slices), 2)
        env = dict(state, NVIDIA_VISIBLE_DEVICES=",".join(slices))
        table = self.shim(scenario, **env)
        self.assertEqual(gpu_rows(table), [("0", "N/A", "0%", "N/A"), ("1", "N/A", "0%", "N/A")])
        for host in ("H200", "MIG devices", "Enabled", " On |"):
            self.assertNotIn(host, table)
        self.assertEqual(re.findall(r"(\d+)MiB / 24576MiB", table), ["29", "15"], "each slice's own memory use")
        listing = self.shim(scenario, "-L", **env).split("\n")[:-1]
        self.assertEqual(listing, ["GPU {}: NVIDIA GeForce RTX 3090 (UUID: {})".format(i, u) for i, u in enumerate(slices)])
        second = self.shim(scenario, "-L", GPUDEV_GPU_COUNT="1", **dict(state, NVIDIA_VISIBLE_DEVICES=slices[1]))
        self.assertEqual(second, "GPU 0: NVIDIA GeForce RTX 3090 (UUID: {})\n".format(slices[1]), "a session of the other slice lists its own")
        query = self.shim(scenario, "--query-gpu=index,uuid,name,mig.mode.current,utilization.gpu", "--format=csv", **env)
        self.assertEqual(query.split("\n")[:-1], ["index, uuid, name, mig.mode.current, utilization.gpu [%]"]
                         + ["{}, {}, NVIDIA GeForce RTX 3090, [N/A], 0 %".format(i, u) for i, u in enumerate(slices)])

    def test_two_slices_on_the_8_h100_host_count_the_same_everywhere(self):
        scenario = "default-h100-x8-570.133.20"
        state = {"GPUDEV_FAKE_GPU_STATE": self.state}
        self.fake(scenario, "-i", "3", "-mig", "1", **state)
        for start in ("0", "1"):
            self.fake(scenario, "mig", "-i", "3", "-cgi", "19:" + start, "-C", **state)
        slices = re.findall(r"\(UUID: (MIG-[^)]+)\)", self.fake(scenario, "-L", **state))
        env = dict(state, NVIDIA_VISIBLE_DEVICES=",".join(slices))
        table = self.shim(scenario, **env)
        self.assertEqual([row[0] for row in gpu_rows(table)], ["0", "1"], "the table lists no MIG device: GPU 3's row stands for both")
        self.assertEqual(len(self.shim(scenario, "-L", **env).split("\n")[:-1]), 2)
        self.assertEqual(len(self.shim(scenario, "--query-gpu=name", "--format=csv,noheader", **env).split("\n")[:-1]), 2)

    def test_full_reports_show_the_same_gpus_as_the_table_listing_and_query(self):
        scenario = "default-h100-x8-570.133.20"
        state = {"GPUDEV_FAKE_GPU_STATE": self.state}
        self.fake(scenario, "-i", "3", "-mig", "1", **state)
        for start in ("0", "1"):
            self.fake(scenario, "mig", "-i", "3", "-cgi", "19:" + start, "-C", **state)
        env = dict(state, NVIDIA_VISIBLE_DEVICES=",".join(re.findall(r"\(UUID: (MIG-[^)]+)\)", self.fake(scenario, "-L", **state))))
        listed = re.findall(r"\(UUID: ([^)]+)\)", self.shim(scenario, "-L", **env))
        queried = self.shim(scenario, "--query-gpu=uuid,memory.total", "--format=csv,noheader", **env).split("\n")[:-1]
        self.assertEqual(len(listed), 2)
        self.assertEqual(queried, ["{}, 24576 MiB".format(u) for u in listed])
        self.assertEqual(re.findall(r"MiB /\s+(\d+)MiB", self.shim(scenario, **env)), ["24576", "24576"])
        for args in (["-q"], ["-q", "-d", "MEMORY"]):
            report = self.shim(scenario, *args, **env)
            self.assertEqual(re.findall(r"GPU UUID\s+: (\S+)", report), listed, args)
            self.assertEqual(re.findall(r"FB Memory Usage\n\s+Total\s+: (\d+) MiB", report), ["24576", "24576"], args)
            self.assertEqual(re.findall(r"Attached GPUs\s+: (\d+)", report), ["2"])
            self.assertNotIn("H100", report)
        report = self.shim(scenario, "-q", "-x", **env)
        self.assertEqual(re.findall(r"<uuid>([^<]+)</uuid>", report), listed)
        self.assertEqual(re.findall(r"<minor_number>(\d+)</minor_number>", report), ["0", "1"])
        self.assertEqual(re.findall(r"<attached_gpus>(\d+)</attached_gpus>", report), ["2"])
        self.assertNotIn("H100", report)

    def test_the_fake_gpu_without_visible_devices_replays_the_fixture(self):
        with open(os.path.join(REPO, "test", "fixtures", "nvidia-smi", "default-h100-x8-570.133.20.txt")) as fixture:
            self.assertEqual(self.fake("default-h100-x8-570.133.20"), fixture.read())
        self.assertEqual(self.fake("default-h100-x8-570.133.20", NVIDIA_VISIBLE_DEVICES="all").count("NVIDIA H100"), 8)


if __name__ == "__main__":
    unittest.main()
