"""The runtime hook in fresh interpreters: sitecustomize on PYTHONPATH, fake torch and pynvml."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FAKES = os.path.join(SHIM, "tests", "fakes")
GIB = 1024 ** 3
RTX3090 = {"GPUDEV_TARGET": "rtx3090", "GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * GIB),
           "GPUDEV_SM_COUNT": "82", "GPUDEV_COMPUTE_CAP": "8.6", "GPUDEV_TDP_W": "350", "GPUDEV_TENSOR": "bf16,fp16,tf32"}
T4 = dict(RTX3090, GPUDEV_TARGET="t4", GPUDEV_TARGET_NAME="Tesla T4", GPUDEV_VRAM_BYTES=str(15 * GIB), GPUDEV_SM_COUNT="40",
          GPUDEV_COMPUTE_CAP="7.5", GPUDEV_TDP_W="70", GPUDEV_TENSOR="fp16")

PROBE = """
import json, sys, torch, pynvml
c = torch.cuda
before = dict(c.fractions)
props = c.get_device_properties(0)  # initialises CUDA, as torch's does
h = pynvml.nvmlDeviceGetHandleByIndex(0)
print(json.dumps({
  "name": c.get_device_name(), "props_name": props.name, "isinstance": isinstance(props, c._CudaDeviceProperties),
  "total_memory": props.total_memory, "sms": props.multi_processor_count, "cc": list(c.get_device_capability()),
  "mem_get_info": list(c.mem_get_info()), "bf16": c.is_bf16_supported(),
  "tf32": [torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32],
  "fraction_before_init": before, "fractions": {str(k): v for k, v in c.fractions.items()},
  "l2": props.L2_cache_size,
  "nvml_name": repr(pynvml.nvmlDeviceGetName(h)), "nvml_total": pynvml.nvmlDeviceGetMemoryInfo(h).total,
  "nvml_free_v2": pynvml.nvmlDeviceGetMemoryInfo(h, version=2).free, "nvml_calls": pynvml._calls,
  "nvml_power": [pynvml.nvmlDeviceGetPowerManagementLimit(h), pynvml.nvmlDeviceGetEnforcedPowerLimit(h), list(pynvml.nvmlDeviceGetPowerManagementLimitConstraints(h))],
  "nvml_cores": pynvml.nvmlDeviceGetNumGpuCores(h), "nvml_mig": pynvml.nvmlDeviceGetMigMode(h),
  "finders": [type(f).__name__ for f in sys.meta_path],
}))
"""


def run(code, env=None, extra_path=()):
    path = os.pathsep.join([SHIM, FAKES, *extra_path])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GPUDEV_") and not k.startswith("FAKE_")}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=dict(clean, PYTHONPATH=path, **(env or {})),
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


class HookTest(unittest.TestCase):
    def test_without_a_target_nothing_changes(self):
        seen = run(PROBE)
        self.assertEqual(seen["name"], "NVIDIA H100 80GB HBM3")
        self.assertEqual(seen["fractions"], {})
        self.assertNotIn("CosplayFinder", seen["finders"])

    def test_torch_and_pynvml_show_the_target(self):
        seen = run(PROBE, RTX3090)
        cap = 24 * GIB
        self.assertEqual((seen["name"], seen["props_name"], seen["isinstance"]), ("NVIDIA GeForce RTX 3090",) * 2 + (True,))
        self.assertEqual((seen["total_memory"], seen["sms"], seen["cc"]), (cap, 82, [8, 6]))
        self.assertEqual(seen["l2"], 50 * 1024 * 1024, "other properties stay real")
        self.assertEqual(seen["mem_get_info"], [cap - 2 * GIB, cap], "free is the cap minus what torch reserved")
        self.assertEqual((seen["bf16"], seen["tf32"]), (True, [True, True]))
        self.assertEqual(seen["fraction_before_init"], {}, "the fraction waits for CUDA init")
        self.assertAlmostEqual(seen["fractions"]["0"], cap / (81559 * 1024 * 1024))
        self.assertEqual(seen["nvml_name"], repr(b"NVIDIA GeForce RTX 3090"))
        self.assertEqual(seen["nvml_total"], cap)
        self.assertEqual(seen["nvml_free_v2"], cap - GIB - 512 * 1024 * 1024)
        self.assertEqual(seen["nvml_calls"], [["memory", None], ["memory", 2]], "version= passes through")
        self.assertEqual(seen["nvml_power"], [350000, 350000, [200000, 350000]])
        self.assertEqual((seen["nvml_cores"], seen["nvml_mig"]), (82 * 128, [0, 0]))

    def test_a_target_without_bf16_or_tf32(self):
        seen = run(PROBE, dict(T4, FAKE_PYNVML_STR="1"))
        self.assertEqual((seen["bf16"], seen["tf32"]), (False, [False, False]))
        self.assertEqual(seen["nvml_name"], repr("Tesla T4"), "str stays str")
        self.assertEqual(seen["nvml_cores"], 40 * 64)
        self.assertEqual(seen["nvml_power"][2], [70000, 70000], "the minimum never exceeds the target's limit")

    def test_every_visible_device_is_capped(self):
        seen = run(PROBE, dict(RTX3090, FAKE_TORCH_DEVICES="2"))
        self.assertEqual(sorted(seen["fractions"]), ["0", "1"])

    def test_import_module_and_a_finder_in_front_both_work(self):
        seen = run("""
            import importlib, json, sys
            asked = []
            class Recorder:
                def find_spec(self, name, path=None, target=None):
                    asked.append(name)
                    return None
            sys.meta_path.insert(0, Recorder())
            torch = importlib.import_module("torch")
            print(json.dumps({"name": torch.cuda.get_device_name(), "asked": "torch" in asked}))
        """, RTX3090)
        self.assertEqual(seen, {"name": "NVIDIA GeForce RTX 3090", "asked": True})

    def test_modules_imported_before_the_hook_are_patched_in_place(self):
        seen = run("""
            import json, os, torch
            from gpudev_shim.hook import install
            install(dict(os.environ, GPUDEV_TARGET_NAME="NVIDIA L4", GPUDEV_VRAM_BYTES=str(22 * 1024 ** 3)))
            print(json.dumps({"name": torch.cuda.get_device_name()}))
        """)
        self.assertEqual(seen, {"name": "NVIDIA L4"})

    def test_the_images_own_sitecustomize_still_runs(self):
        other = tempfile.mkdtemp()
        with open(os.path.join(other, "sitecustomize.py"), "w") as module:
            module.write("import os\nos.environ['IMAGE_SITECUSTOMIZE'] = 'ran'\n")
        seen = run("""
            import json, os, torch
            print(json.dumps({"image": os.environ.get("IMAGE_SITECUSTOMIZE"), "name": torch.cuda.get_device_name()}))
        """, RTX3090, extra_path=[other])
        self.assertEqual(seen, {"image": "ran", "name": "NVIDIA GeForce RTX 3090"})


if __name__ == "__main__":
    unittest.main()


class PthInstallTest(unittest.TestCase):
    def test_the_pth_option_activates_the_hook_without_pythonpath(self):
        site_dir = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "gpudev_shim.install_pth", site_dir], cwd=SHIM, check=True, capture_output=True)
        code = "import site, json; site.addsitedir({!r}); import torch; print(json.dumps(torch.cuda.get_device_name()))".format(site_dir)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("GPUDEV_")}
        done = subprocess.run([sys.executable, "-c", code], env=dict(clean, PYTHONPATH=FAKES, **RTX3090), capture_output=True, text=True, timeout=30)
        self.assertEqual(done.stdout.strip(), '"NVIDIA GeForce RTX 3090"', done.stderr)
