"""bin/nvidia-smi end to end, over a fake real nvidia-smi that replays a fixture."""
import os
import subprocess
import sys
import signal
import tempfile
import unittest

from tests.fixtures import FIXTURES

SHIM_BIN = os.path.join(os.path.dirname(__file__), "..", "bin")
TARGET_ENV = {"GPUDEV_TARGET": "rtx3090", "GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * 1024 ** 3), "GPUDEV_TDP_W": "350"}


class WrapperTest(unittest.TestCase):
    def setUp(self):
        self.real_dir = tempfile.mkdtemp()
        self.fixture = os.path.join(FIXTURES, "default-h100-535.104.12.txt")
        self.write_real("cat '{}'\nexit ${{FAKE_EXIT:-0}}\n".format(self.fixture))

    def write_real(self, body):
        path = os.path.join(self.real_dir, "nvidia-smi")
        with open(path, "w") as script:
            script.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)

    def run_shim(self, *args, env=None, **kwargs):
        path = os.pathsep.join([SHIM_BIN, SHIM_BIN, self.real_dir, os.environ.get("PATH", "")])
        return subprocess.run([sys.executable, os.path.join(SHIM_BIN, "nvidia-smi")] + list(args),
                              env=dict(os.environ, PATH=path, **(env or {})), capture_output=True, text=True, timeout=20, **kwargs)

    def test_disguises_and_passes_the_exit_code(self):
        result = self.run_shim(env=dict(TARGET_ENV, FAKE_EXIT="3"))
        self.assertEqual(result.returncode, 3)
        self.assertIn("NVIDIA GeForce RTX 3090", result.stdout)
        self.assertNotIn("H100", result.stdout)

    def test_without_a_target_the_output_is_the_real_one_byte_for_byte(self):
        with open(self.fixture) as fixture:
            self.assertEqual(self.run_shim().stdout, fixture.read())

    def test_the_xml_report_is_rewritten(self):
        xml = os.path.join(FIXTURES, "qx-h100-80gb-hbm3-545.23.08-from-q.txt")
        self.write_real("cat '{}'\n".format(xml))
        out = self.run_shim("-q", "-x", env=dict(TARGET_ENV, GPUDEV_ECC="0")).stdout
        self.assertIn("<product_name>NVIDIA GeForce RTX 3090</product_name>", out)
        self.assertIn("<product_brand>GeForce</product_brand>", out)
        self.assertIn("<current_ecc>N/A</current_ecc>", out)
        self.assertNotIn("H100", out)

    def test_a_reader_that_stops_reading_gets_the_status_of_sigpipe_and_no_traceback(self):
        self.write_real("i=0; while [ $i -lt 300 ]; do cat '{}'; i=$((i+1)); done\n".format(self.fixture))
        path = os.pathsep.join([SHIM_BIN, self.real_dir, os.environ.get("PATH", "")])
        shim = subprocess.Popen([sys.executable, os.path.join(SHIM_BIN, "nvidia-smi")], env=dict(os.environ, PATH=path, **TARGET_ENV),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        shim.stdout.readline()
        shim.stdout.close()  # as `nvidia-smi | head -1` does
        _, stderr = shim.communicate(timeout=20)
        self.assertEqual(shim.returncode, 141)
        self.assertEqual(stderr, b"")

    def test_the_real_binary_dies_of_sigpipe_as_without_the_shim(self):
        for env in ({}, TARGET_ENV):  # passed through (execv) and rewritten (posix_spawn)
            with self.subTest(rewritten=bool(env)):
                self.write_real("awk '/^SigIgn/ {print \"SigIgn\", $2}' /proc/$$/status\n")  # what the real one ignores
                out = self.run_shim(env=env).stdout
                ignored = int(out.split("SigIgn ")[1].split()[0], 16)
                self.assertFalse(ignored & (1 << 12), "SIGPIPE (13) left ignored: " + out)

    def test_the_last_line_gets_its_newline_and_output_is_complete(self):
        self.write_real("cat '{}'\nprintf 'no newline at the end'\n".format(self.fixture))
        out = self.run_shim(env=TARGET_ENV).stdout
        with open(self.fixture) as fixture:
            self.assertEqual(len(out.split("\n")), len(fixture.read().split("\n")) + 1)
        self.assertTrue(out.endswith("no newline at the end\n"))

    def test_modes_it_does_not_rewrite_pass_through(self):
        self.write_real('echo "dmon $*"\n')
        self.assertEqual(self.run_shim("dmon", "-c", "1", env=TARGET_ENV).stdout, "dmon dmon -c 1\n")

    def test_a_link_to_the_shim_elsewhere_on_path_is_not_taken_for_the_real_one(self):
        links = tempfile.mkdtemp()
        os.symlink(os.path.abspath(os.path.join(SHIM_BIN, "nvidia-smi")), os.path.join(links, "nvidia-smi"))
        path = os.pathsep.join([links, SHIM_BIN, self.real_dir, os.environ.get("PATH", "")])
        result = subprocess.run([os.path.join(links, "nvidia-smi")], env=dict(os.environ, PATH=path, **TARGET_ENV),
                                capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("NVIDIA GeForce RTX 3090", result.stdout)

    def test_no_real_nvidia_smi(self):
        os.remove(os.path.join(self.real_dir, "nvidia-smi"))
        result = subprocess.run([sys.executable, os.path.join(SHIM_BIN, "nvidia-smi")], env=dict(os.environ, PATH=SHIM_BIN), capture_output=True, text=True)
        self.assertEqual(result.returncode, 127)
        self.assertIn("the real nvidia-smi is not on PATH", result.stderr)

    def test_loop_mode_streams_each_frame_as_it_comes(self):
        self.write_real("cat '{0}'\nsleep 5\ncat '{0}'\n".format(self.fixture))
        path = os.pathsep.join([SHIM_BIN, self.real_dir, os.environ.get("PATH", "")])
        process = subprocess.Popen([sys.executable, os.path.join(SHIM_BIN, "nvidia-smi"), "-l", "1"], start_new_session=True,
                                   env=dict(os.environ, PATH=path, **TARGET_ENV), stdout=subprocess.PIPE, text=True)
        try:
            first_frame = [process.stdout.readline() for _ in range(18)]
            still_running = process.poll() is None
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            process.stdout.close()
        self.assertIn("NVIDIA GeForce RTX 3090", "".join(first_frame))
        self.assertTrue(still_running, "the first frame arrived while the real nvidia-smi was still running")


if __name__ == "__main__":
    unittest.main()
