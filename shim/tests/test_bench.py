import json
import os
import subprocess
import sys
import unittest

from gpudev_shim.bench_core import copy_bytes, copy_gbs, gemm_size, gemm_tflops, median, skipped_precisions
from tests.fixtures import target

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FAKES = os.path.join(SHIM, "tests", "fakes")


class BenchCoreTest(unittest.TestCase):
    def test_sizes_scale_with_the_target_memory(self):
        t4, small = target("Tesla T4", 15360, 70), target("GTX 1650", 4096, 75)
        self.assertEqual(gemm_size(t4, 4), 8192)
        n = gemm_size(small, 4)
        self.assertEqual(n % 256, 0)
        self.assertLessEqual(3 * n * n * 4, 0.25 * small.vram_bytes)
        self.assertLessEqual(2 * copy_bytes(small), 0.25 * small.vram_bytes)

    def test_rates(self):
        self.assertAlmostEqual(gemm_tflops(8192, 10.0), 2 * 8192 ** 3 / 0.01 / 1e12)
        self.assertAlmostEqual(copy_gbs(10 ** 9, 1.0), 2000.0)
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([4, 1, 2, 3]), 2.5)

    def test_precisions_the_target_lacks_are_skipped(self):
        t4 = target("Tesla T4", 15360, 70)._replace(tensor=("fp16",))
        self.assertEqual(skipped_precisions(t4), ["tf32", "bf16"])


def bench(env, pythonpath=(SHIM, FAKES), args=()):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GPUDEV_")}
    done = subprocess.run([sys.executable, os.path.join(SHIM, "bench.py"), "--json", "--samples", "4", *args],
                          env=dict(clean, PYTHONPATH=os.pathsep.join(pythonpath), **env), capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout)


class BenchTest(unittest.TestCase):
    RTX3090 = {"GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * 1024 ** 3), "GPUDEV_TENSOR": "bf16,fp16,tf32"}

    def test_measures_what_the_device_delivers_with_cuda_events(self):
        code, report = bench(self.RTX3090)
        self.assertEqual(code, 0)
        medians = {r["metric"]: r["median"] for r in report["results"]}
        expected = {"fp32": 50, "tf32": 400, "fp16": 800, "bf16": 800, "bandwidth": 3000}
        self.assertEqual(set(medians), set(expected))
        for metric, value in expected.items():
            self.assertAlmostEqual(medians[metric], value, places=3, msg=metric)
        self.assertTrue(all(len(r["samples"]) == 4 for r in report["results"]))
        self.assertEqual(report["device"], "NVIDIA GeForce RTX 3090", "the shim is active in bench too")

    def test_a_target_without_bf16_or_tf32(self):
        _, report = bench(dict(self.RTX3090, GPUDEV_TARGET_NAME="Tesla T4", GPUDEV_TENSOR="fp16"))
        self.assertEqual([r["metric"] for r in report["results"]], ["fp32", "fp16", "bandwidth"])
        self.assertEqual(set(report["skipped"]), {"tf32", "bf16"})

    def test_only_the_metrics_asked_for(self):
        code, report = bench(self.RTX3090, args=("--only", "fp32"))
        self.assertEqual(code, 0)
        self.assertEqual([r["metric"] for r in report["results"]], ["fp32"])
        _, report = bench(self.RTX3090, args=("--only", "fp16,bandwidth"))
        self.assertEqual([r["metric"] for r in report["results"]], ["fp16", "bandwidth"])

    def test_without_torch_or_target_it_says_why_and_fails(self):
        code, report = bench(self.RTX3090, pythonpath=(SHIM, os.path.join(SHIM, "tests", "no_torch")))
        self.assertEqual(code, 1)
        self.assertIn("torch is not installed", report["error"])
        code, report = bench({})
        self.assertEqual((code, report["results"]), (1, []))
        self.assertIn("not a cosplay", report["error"])


if __name__ == "__main__":
    unittest.main()
