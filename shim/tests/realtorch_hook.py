"""The hook over the real PyTorch: Debian's python3-torch (1.13, CPU build; test/infra/torch.sh installs it).
Not named test_*.py: the `torch` tier of `npm test` runs it (-p 'realtorch_*.py'), after that install.
Without python3-torch it is skipped, except under CI, where that is a failure."""
import os
import subprocess
import unittest

from tests.interpreter import RTX3090, SHIM, run_python

PY = "/usr/bin/python3"
CI = os.environ.get("CI") in ("true", "1")
HAS_TORCH = os.path.exists(PY) and subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode == 0
if CI and not HAS_TORCH:
    raise RuntimeError("CI: Debian's python3-torch is not importable by /usr/bin/python3 (run test/infra/torch.sh as root)")
TESTS = os.path.dirname(os.path.abspath(__file__))
SURFACE = """
import inspect, json, sys, torch
from gpudev_shim.torch_patch import WRAPPERS
def describe(name):
    fn = getattr(torch.cuda, name)
    try:
        fn()
        error = None
    except Exception as e:
        error = [type(e).__name__, str(e)]
    return {"module": fn.__module__, "qualname": fn.__qualname__, "doc": fn.__doc__, "signature": str(inspect.signature(fn)),
            "patched": hasattr(fn, "_gpudev_wrapped"),
            "cache_clear": hasattr(fn, "cache_clear"), "error": error if name not in ("_lazy_init", "device_count") else None}
print(json.dumps({"version": torch.__version__, "functions": {name: describe(name) for name in WRAPPERS},
                  "finder": any(type(f).__name__ == "CosplayFinder" for f in sys.meta_path)}))
"""


def real(code, env=None):
    return run_python(code, env, path=(SHIM, TESTS), executable=PY)


@unittest.skipUnless(HAS_TORCH, "Debian's python3-torch is not installed (run test/infra/torch.sh as root)")
class RealTorchTest(unittest.TestCase):
    def test_every_patched_function_keeps_its_real_module_name_signature_and_errors(self):
        plain, _ = real(SURFACE)
        shimmed, stderr = real(SURFACE, RTX3090)
        self.assertEqual(stderr, "", "every patch applies to torch " + plain["version"])
        self.assertEqual((plain["finder"], shimmed["finder"]), (False, True))
        for name, seen in shimmed["functions"].items():
            with self.subTest(name):
                self.assertTrue(seen["patched"])
                self.assertFalse(plain["functions"][name]["patched"])
                self.assertEqual({**seen, "patched": False}, plain["functions"][name],
                                 "module, qualname, docstring, signature and the CPU build's error are the real ones")

    def test_a_training_step_on_cpu_with_the_shim_active(self):
        seen, stderr = real("""
            import json, torch
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            x, y = torch.randn(64, 8), torch.randn(64, 1)
            losses = []
            for _ in range(30):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            print(json.dumps({"first": losses[0], "last": losses[-1], "patched": hasattr(torch.cuda.get_device_name, "_gpudev_wrapped"),
                              "cuda": torch.cuda.is_available(), "count": torch.cuda.device_count()}))
        """, RTX3090)
        self.assertTrue(seen["patched"])
        self.assertLess(seen["last"], seen["first"] * 0.9)
        self.assertEqual((seen["cuda"], seen["count"]), (False, 0), "the CPU build stays a CPU build")
        self.assertEqual(stderr, "")

    def test_torch_save_of_patched_properties_loads_without_the_shim(self):
        saved, _ = real("""
            import io, json, types, torch
            from gpudev_shim.target import target_from_env
            from gpudev_shim.torch_patch import DeviceProperties
            real = types.SimpleNamespace(name="NVIDIA H100 80GB HBM3", major=9, minor=0, total_memory=80 * 1024 ** 3,
                                         multi_processor_count=132, L2_cache_size=50 * 1024 ** 2)
            buffer = io.BytesIO()
            torch.save({"props": DeviceProperties(real, target_from_env()), "w": torch.ones(2)}, buffer)
            print(json.dumps(buffer.getvalue().hex()))
        """, RTX3090)
        loaded, _ = run_python("""
            import io, json, sys, torch
            data = torch.load(io.BytesIO(bytes.fromhex({!r})))
            p = data["props"]
            print(json.dumps({{"shim": "gpudev_shim" in sys.modules, "props": [p.name, p.major, p.minor, p.total_memory,
                              p.multi_processor_count, p.L2_cache_size], "w": data["w"].tolist()}}))
        """.format(saved), path=(), executable=PY)
        self.assertEqual(loaded, {"shim": False, "props": ["NVIDIA GeForce RTX 3090", 8, 6, 24 * 1024 ** 3, 82, 50 * 1024 ** 2],
                                  "w": [1.0, 1.0]})

    def test_multiprocessing_spawn_children_inherit_the_hook(self):
        seen, _ = real("""
            import json, multiprocessing, torch, spawn_child
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                print(json.dumps(pool.map(spawn_child.report, range(2))))
        """, RTX3090)
        self.assertEqual(seen, [{"finder": True, "patched": True, "name_module": "torch.cuda"}] * 2)


if __name__ == "__main__":
    unittest.main()
