"""N target GPUs in torch, and a patched properties object that pickles."""
import pickle
import unittest

from gpudev_shim.target import Target
from gpudev_shim.torch_patch import DeviceProperties
from tests.interpreter import FAKES, RTX3090, run_python

GIB = 1024 ** 3
PROBE = """
import json, pickle, torch
c = torch.cuda
n = c.device_count()
props = [c.get_device_properties(i) for i in range(n)]
try:
    c.get_device_properties(n)
    beyond = "no error"
except AssertionError as error:
    beyond = str(error)
print(json.dumps({
    "count": n, "names": [p.name for p in props], "by_name": [c.get_device_name(i) for i in range(n)],
    "totals": [p.total_memory for p in props], "sms": [p.multi_processor_count for p in props],
    "by_str": c.get_device_name("cuda:1") if n > 1 else None,
    "mem": [list(c.mem_get_info(i)) for i in range(n)], "fractions": {str(k): v for k, v in c.fractions.items()},
    "beyond": beyond, "pickled": pickle.dumps(props[-1]).hex(),
}))
"""


class TorchDevicesTest(unittest.TestCase):
    def test_every_device_of_a_two_gpu_session_is_the_target(self):
        seen, _ = run_python(PROBE, dict(RTX3090, GPUDEV_GPU_COUNT="2", FAKE_TORCH_DEVICES="2"))
        self.assertEqual(seen["count"], 2)
        self.assertEqual(seen["names"], ["NVIDIA GeForce RTX 3090"] * 2)
        self.assertEqual((seen["by_name"], seen["by_str"]), (seen["names"], "NVIDIA GeForce RTX 3090"))
        self.assertEqual((seen["totals"], seen["sms"]), ([24 * GIB] * 2, [82, 82]))
        self.assertEqual([total for _, total in seen["mem"]], [24 * GIB] * 2)
        self.assertEqual(sorted(seen["fractions"]), ["0", "1"], "a memory fraction on every device")
        self.assertAlmostEqual(seen["fractions"]["1"], 24 * GIB / (81559 * 1024 * 1024))
        self.assertEqual(seen["beyond"], "Invalid device id")

    def test_more_visible_devices_than_the_session_has_shows_the_sessions_count(self):
        seen, _ = run_python(PROBE, dict(RTX3090, GPUDEV_GPU_COUNT="2", FAKE_TORCH_DEVICES="4"))
        self.assertEqual((seen["count"], seen["beyond"]), (2, "Invalid device id"))
        self.assertEqual(sorted(seen["fractions"]), ["0", "1", "2", "3"], "every visible device stays capped")

    def test_properties_pickle_as_what_they_show_and_load_without_the_shim(self):
        seen, _ = run_python(PROBE, dict(RTX3090, GPUDEV_GPU_COUNT="2", FAKE_TORCH_DEVICES="2"))
        loaded, _ = run_python("""
            import json, pickle, sys
            props = pickle.loads(bytes.fromhex({!r}))
            print(json.dumps({{"shim": "gpudev_shim" in sys.modules, "name": props.name, "cc": [props.major, props.minor],
                               "total": props.total_memory, "l2": props.L2_cache_size}}))
        """.format(seen["pickled"]), path=(FAKES,))
        self.assertEqual(loaded, {"shim": False, "name": "NVIDIA GeForce RTX 3090", "cc": [8, 6], "total": 24 * GIB, "l2": 50 * 1024 ** 2})

    def test_properties_pickle_in_process(self):
        class Real:
            name, major, minor, total_memory, multi_processor_count = "NVIDIA H100 80GB HBM3", 9, 0, 80 * GIB, 132

        target = Target(key="t4", name="Tesla T4", vram_bytes=15 * GIB, sm_count=40, compute_capability=(7, 5), tdp_w=70,
                        tensor=("fp16",), expect_clock_mhz=None, expect_power_w=None)
        copy = pickle.loads(pickle.dumps(DeviceProperties(Real(), target)))
        self.assertEqual((copy.name, copy.major, copy.minor, copy.total_memory, copy.multi_processor_count),
                         ("Tesla T4", 7, 5, 15 * GIB, 40))


if __name__ == "__main__":
    unittest.main()
