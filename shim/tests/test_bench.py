import json
import os
import subprocess
import sys
import unittest

from gpudev_shim.bench_core import (NON_SQUARE, allreduce_bytes, allreduce_skip_reason, best_of, bus_gbs, copy_bytes,
                                    copy_gbs, driver_version, gemm_bytes, gemm_shapes, gemm_size, gemm_tflops, median,
                                    skipped_precisions)
from tests.fixtures import target

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FAKES = os.path.join(SHIM, "tests", "fakes")
NO_TORCH = os.path.join(SHIM, "tests", "no_torch")


class BenchCoreTest(unittest.TestCase):
    def test_sizes_scale_with_the_target_memory(self):
        t4, small = target("Tesla T4", 15360, 70), target("GTX 1650", 4096, 75)
        self.assertEqual(gemm_size(t4, 4), 8192)
        n = gemm_size(small, 4)
        self.assertEqual(n % 256, 0)
        self.assertLessEqual(3 * n * n * 4, 0.25 * small.vram_bytes)
        self.assertLessEqual(2 * copy_bytes(small), 0.25 * small.vram_bytes)
        self.assertLessEqual(allreduce_bytes(small), 0.1 * small.vram_bytes)

    def test_the_sweep_has_square_and_non_square_shapes_that_fit(self):
        rtx3090 = target("NVIDIA GeForce RTX 3090", 24576, 350)
        shapes = gemm_shapes(rtx3090, 2)
        self.assertIn((8192, 8192, 8192), shapes)
        self.assertTrue(set(NON_SQUARE) <= set(shapes), "BF16 on 24 GiB fits every shape")
        for element_bytes in (2, 4):
            for vram_mib in (2048, 4096, 8192, 24576):
                for shape in gemm_shapes(target("t", vram_mib, 70), element_bytes):
                    self.assertLessEqual(gemm_bytes(shape, element_bytes), 0.25 * vram_mib * 1024 ** 2, (shape, vram_mib))
        tiny = target("tiny", 64, 10)
        side = gemm_size(tiny, 4)
        self.assertEqual(gemm_shapes(tiny, 4), [(side, side, side)], "never an empty sweep")
        self.assertLess(len(gemm_shapes(target("2 GiB", 2048, 75), 4)), len(shapes), "a smaller GPU sweeps fewer shapes")

    def test_rates(self):
        self.assertAlmostEqual(gemm_tflops((8192, 8192, 8192), 10.0), 2 * 8192 ** 3 / 0.01 / 1e12)
        self.assertAlmostEqual(gemm_tflops((2048, 2048, 13312), 1.0), 2 * 2048 * 2048 * 13312 / 1e-3 / 1e12)
        self.assertAlmostEqual(copy_gbs(10 ** 9, 1.0), 2000.0)
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([4, 1, 2, 3]), 2.5)

    def test_bus_bandwidth_is_nccl_tests_formula(self):
        # 1 GB in 10 ms: algbw 100 GB/s; busbw × 2(n-1)/n: 100 for 2 ranks, 175 for 8.
        self.assertAlmostEqual(bus_gbs(10 ** 9, 10.0, 2), 100.0)
        self.assertAlmostEqual(bus_gbs(10 ** 9, 10.0, 8), 175.0)

    def test_the_best_of_a_sweep_is_the_highest_median(self):
        # mamf-finder's H100 SXM finding: a non-square shape beats the square ones.
        sweep = [{"shape": [8192, 8192, 8192], "median": 760.1}, {"shape": [2048, 2048, 13312], "median": 794.5},
                 {"shape": [1024, 10240, 5120], "median": 781.0}]
        self.assertEqual(best_of(sweep)["shape"], [2048, 2048, 13312])

    def test_precisions_the_target_lacks_are_skipped(self):
        t4 = target("Tesla T4", 15360, 70)._replace(tensor=("fp16",))
        self.assertEqual(skipped_precisions(t4), ["tf32", "bf16"])

    def test_the_driver_version_from_the_query_or_the_table(self):
        self.assertEqual(driver_version("570.133.20\n570.133.20\n", ""), "570.133.20")
        table = "| NVIDIA-SMI 535.104.12             Driver Version: 535.104.12   CUDA Version: 12.2     |"
        self.assertEqual(driver_version('Field "driver_version" is not a valid field to query.', table), "535.104.12")
        self.assertIsNone(driver_version("", ""))

    def test_why_an_all_reduce_is_not_measured(self):
        self.assertIsNone(allreduce_skip_reason(True, True, 2))
        self.assertIn("torch.distributed is not available", allreduce_skip_reason(False, False, 8))
        self.assertIn("no NCCL backend", allreduce_skip_reason(True, False, 8))
        self.assertIn("1 GPU visible", allreduce_skip_reason(True, True, 1))


def bench(env, pythonpath=(SHIM, FAKES), args=()):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GPUDEV_", "FAKE_"))}
    done = subprocess.run([sys.executable, os.path.join(SHIM, "bench.py"), "--json", "--samples", "4", *args],
                          env=dict(clean, PYTHONPATH=os.pathsep.join(pythonpath), **env), capture_output=True, text=True, timeout=120)
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

    def test_every_gemm_sweeps_its_shapes_and_keeps_the_best(self):
        _, report = bench(self.RTX3090)
        bf16 = next(r for r in report["results"] if r["metric"] == "bf16")
        self.assertEqual([tuple(s["shape"]) for s in bf16["sweep"]], gemm_shapes(target("t", 24576, 350), 2))
        for entry in bf16["sweep"]:
            self.assertAlmostEqual(entry["median"], 800, places=3, msg="the rate of every shape, not only the square ones")
        self.assertEqual(bf16["shape"], best_of(bf16["sweep"])["shape"])

    def test_reports_the_versions_the_efficiency_depends_on(self):
        _, report = bench(self.RTX3090, args=("--only", "versions"))
        self.assertEqual(report["results"], [])
        self.assertEqual(report["versions"]["torch"], "0.0-fake")
        self.assertEqual(report["versions"]["cuda"], "12.4")
        self.assertIn("driver", report["versions"])

    def test_the_driver_version_from_a_real_nvidia_smi_table(self):
        lab = os.path.join(SHIM, "..", "lab", "fake-gpu", "bin")
        env = dict(self.RTX3090, PATH=lab + os.pathsep + os.environ["PATH"], GPUDEV_FAKE_SMI_SCENARIO="default-h100-535.104.12")
        _, report = bench(env, args=("--only", "versions"))
        self.assertEqual(report["versions"]["driver"], "535.104.12")

    def test_a_target_without_bf16_or_tf32(self):
        _, report = bench(dict(self.RTX3090, GPUDEV_TARGET_NAME="Tesla T4", GPUDEV_TENSOR="fp16"))
        self.assertEqual([r["metric"] for r in report["results"]], ["fp32", "fp16", "bandwidth"])
        self.assertEqual(set(report["skipped"]), {"tf32", "bf16", "allreduce"})

    def test_all_reduce_bus_bandwidth_across_two_gpus(self):
        two = dict(self.RTX3090, GPUDEV_GPU_COUNT="2", FAKE_TORCH_DEVICES="2", FAKE_BUS_GBS="250")
        code, report = bench(two, args=("--only", "allreduce"))
        self.assertEqual(code, 0, report)
        [result] = report["results"]
        self.assertEqual((result["metric"], result["unit"], result["ranks"]), ("allreduce", "GB/s", 2))
        self.assertAlmostEqual(result["median"], 250, places=3)
        self.assertEqual(len(result["samples"]), 4)

    def test_all_reduce_is_skipped_with_a_reason(self):
        _, report = bench(self.RTX3090, args=("--only", "allreduce"))
        self.assertEqual(report["results"], [])
        self.assertIn("1 GPU visible", report["skipped"]["allreduce"])
        two = dict(self.RTX3090, GPUDEV_GPU_COUNT="2", FAKE_TORCH_DEVICES="2", FAKE_TORCH_NO_NCCL="1")
        _, report = bench(two, args=("--only", "allreduce"))
        self.assertIn("no NCCL backend", report["skipped"]["allreduce"])

    def test_only_the_metrics_asked_for(self):
        code, report = bench(self.RTX3090, args=("--only", "fp32"))
        self.assertEqual(code, 0)
        self.assertEqual([r["metric"] for r in report["results"]], ["fp32"])
        self.assertEqual(report["skipped"], {})
        _, report = bench(self.RTX3090, args=("--only", "fp16,bandwidth"))
        self.assertEqual([r["metric"] for r in report["results"]], ["fp16", "bandwidth"])

    def test_without_torch_or_target_it_says_why_and_fails(self):
        code, report = bench(self.RTX3090, pythonpath=(SHIM, NO_TORCH))
        self.assertEqual(code, 1)
        self.assertIn("torch is not installed", report["error"])
        code, report = bench({})
        self.assertEqual((code, report["results"]), (1, []))
        self.assertIn("not a cosplay", report["error"])


if __name__ == "__main__":
    unittest.main()
