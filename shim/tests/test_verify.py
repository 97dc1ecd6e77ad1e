"""verify.py end to end: the shim's nvidia-smi over the project's fake GPU, fake torch and pynvml."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REPO = os.path.dirname(SHIM)
FAKES = os.path.join(SHIM, "tests", "fakes")
FAKE_GPU_BIN = os.path.join(REPO, "lab", "fake-gpu", "bin")
FAKE_GPU_BUILT = os.path.exists(os.path.join(REPO, "dist", "lab", "nvidia-smi.js"))
TARGET = {"GPUDEV_TARGET": "rtx3090", "GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * 1024 ** 3),
          "GPUDEV_SM_COUNT": "82", "GPUDEV_COMPUTE_CAP": "8.6", "GPUDEV_TDP_W": "350", "GPUDEV_TENSOR": "bf16,fp16,tf32",
          "GPUDEV_FAKE_SMI_SCENARIO": "default-h100-x8-570.133.20"}


def verify(env, path=(os.path.join(SHIM, "bin"), FAKE_GPU_BIN), pythonpath=(SHIM, FAKES)):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GPUDEV_", "CUDA_MPS_"))}
    system_path = clean.get("PATH", "")
    full = dict(clean, PATH=os.pathsep.join([*path, system_path]), PYTHONPATH=os.pathsep.join(pythonpath), **env)
    done = subprocess.run([sys.executable, os.path.join(SHIM, "verify.py"), "--json"], env=full, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    return done.returncode, {c["id"]: c for c in report["checks"]}, report["summary"]


@unittest.skipUnless(FAKE_GPU_BUILT or os.environ.get("CI") == "true", "the fake GPU is built by `node esbuild.mjs --tests`")
class VerifyTest(unittest.TestCase):
    def test_a_good_cosplay_passes_every_check_that_can_run(self):
        code, checks, summary = verify(dict(TARGET, GPUDEV_EXPECT_POWER_W="700"))
        self.assertGreaterEqual(len(checks), 24)
        self.assertEqual(summary["fail"], 0, [c for c in checks.values() if c["status"] == "fail"])
        self.assertEqual(code, 0)
        self.assertEqual(checks["host.clock"]["status"], "skip")
        self.assertEqual(checks["mps.limits"]["detail"], "not an MPS cosplay")
        self.assertEqual(checks["smi.gpu-count"]["actual"], {"table": 1, "list": 1, "query": 1, "q": 1}, "one of the fake host's 8 GPUs")
        for check in checks.values():
            self.assertEqual(set(check), {"id", "title", "status", "expected", "actual", "detail"})

    def test_a_host_setting_not_applied_fails_with_expected_and_actual(self):
        code, checks, _ = verify(dict(TARGET, GPUDEV_EXPECT_POWER_W="350"))
        self.assertEqual(code, 1)
        self.assertEqual((checks["host.power"]["status"], checks["host.power"]["expected"], checks["host.power"]["actual"]), ("fail", 350, 700.0))

    def test_without_the_shim_on_path_identity_checks_fail(self):
        code, checks, _ = verify(TARGET, path=(FAKE_GPU_BIN,))
        self.assertEqual(code, 1)
        self.assertEqual(checks["path.shim-first"]["status"], "fail")
        self.assertEqual(checks["smi.table.name"]["status"], "fail")
        self.assertEqual(checks["smi.list.name"]["actual"], ["NVIDIA H100 80GB HBM3"] * 8)

    def test_what_cannot_run_is_skipped_with_its_reason_never_passed(self):
        _, checks, _ = verify(TARGET, path=(os.path.join(SHIM, "bin"),), pythonpath=(SHIM, os.path.join(SHIM, "tests", "no_torch")))
        self.assertEqual(checks["path.real-found"]["status"], "fail")
        self.assertEqual(checks["smi.table.name"]["detail"], "no real nvidia-smi: no GPU here")
        for id in ("smi.q.memory", "torch.name", "torch.alloc-over", "pynvml.name"):
            self.assertEqual(checks[id]["status"], "skip", id)
        self.assertIn("torch is not installed", checks["torch.name"]["detail"])

    def test_not_a_cosplay(self):
        code, checks, _ = verify({})
        self.assertEqual((code, list(checks)), (1, ["env.target"]))

    def test_mps_limits_need_a_reachable_daemon(self):
        pipe = tempfile.mkdtemp()
        mps = dict(TARGET, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE="54", CUDA_MPS_PINNED_DEVICE_MEM_LIMIT="0=24576M", CUDA_MPS_PIPE_DIRECTORY=pipe)
        self.assertEqual(verify(mps)[1]["mps.limits"]["status"], "fail")
        open(os.path.join(pipe, "control"), "w").close()
        self.assertEqual(verify(mps)[1]["mps.limits"]["status"], "pass")


if __name__ == "__main__":
    unittest.main()
