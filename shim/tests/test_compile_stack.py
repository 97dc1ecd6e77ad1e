"""torch.compile in a cosplay: user code sees the target, the compile stack (fakes laid out as torch 2.x's
torch._inductor/torch._dynamo, Triton 3.x and torch.utils.cpp_extension, reading the device as they do)
sees the real H100 and builds kernels that load on it. And a patch that cannot apply stays off alone."""
import unittest

from gpudev_shim.compile_stack import compile_stack_asks
from tests.interpreter import RTX3090, run_python

COMPILE = """
import json, torch, triton

def model(x):  # user code run by the compiled callable still asks as the user
    return {"x": x, "cc": list(torch.cuda.get_device_capability()), "name": torch.cuda.get_device_name(),
            "sms": torch.cuda.get_device_properties(0).multi_processor_count}

out = torch.compile(model)(3)
from torch._inductor.compile_fx import compiled_for

@triton.jit
def add_kernel(x):
    pass

from torch.utils.cpp_extension import _get_cuda_arch_flags
from torch._inductor.codegen.cuda.cuda_env import get_cuda_arch
from torch._inductor.utils import is_big_gpu
try:
    triton.compile("k", target=triton.backends.compiler.GPUTarget("cuda", 86, 32)).load()
    sm86 = "loaded"
except RuntimeError as error:
    sm86 = str(error)
print(json.dumps({"model": out, "inductor": compiled_for, "jit": add_kernel[(1,)](1),
                  "gencode": _get_cuda_arch_flags(), "cutlass_arch": get_cuda_arch(), "big_gpu": is_big_gpu(),
                  "arch_checks": torch.cuda.arch_checks, "sm86_on_h100": sm86,
                  "after": [torch.cuda.get_device_name(0), list(torch.cuda.get_device_capability(0))]}))
"""


class CompileStackTest(unittest.TestCase):
    def test_user_code_sees_the_target_and_the_compile_stack_the_real_gpu(self):
        seen, stderr = run_python(COMPILE, RTX3090)
        self.assertEqual(seen["model"], {"x": 3, "cc": [8, 6], "name": "NVIDIA GeForce RTX 3090", "sms": 82})
        self.assertEqual(seen["inductor"], [{"arch": "sm_90", "sms": 132, "worker_name": "NVIDIA H100 80GB HBM3"}],
                         "Inductor builds for sm_90 with the real SM count; its workers get the real properties")
        self.assertEqual(seen["jit"], "sm_90", "Triton's driver asks torch.cuda.get_device_capability from its own module")
        self.assertEqual(seen["gencode"], ["-gencode=arch=compute_90,code=sm_90", "-gencode=arch=compute_90,code=compute_90"])
        self.assertEqual((seen["cutlass_arch"], seen["big_gpu"]), ("90", True))
        self.assertEqual(seen["arch_checks"], [["NVIDIA H100 80GB HBM3", 9, 0, True]], "torch.cuda's arch check sees the real GPU")
        self.assertIn("no kernel image is available", seen["sm86_on_h100"], "what happens when the stack is told 8.6")
        self.assertEqual(seen["after"], ["NVIDIA GeForce RTX 3090", [8, 6]])
        self.assertEqual(stderr, "")

    def test_without_a_target_the_same_run_is_the_real_gpu_throughout(self):
        seen, _ = run_python(COMPILE)
        self.assertEqual(seen["model"]["cc"], [9, 0])
        self.assertEqual(seen["inductor"][0]["arch"], "sm_90")

    def test_the_check_looks_at_the_immediate_caller_only(self):
        self.assertFalse(compile_stack_asks(1), "this test module is not the compile stack")
        namespace = {"__name__": "triton.runtime.jit", "compile_stack_asks": compile_stack_asks}
        exec("def ask():\n    return compile_stack_asks(1)\n", namespace)
        self.assertTrue(namespace["ask"]())
        namespace["__name__"] = "tritonclient.grpc"
        self.assertFalse(namespace["ask"](), "a package whose name only starts like triton is user code")


class PatchFailureTest(unittest.TestCase):
    PROBE = """
        import json, torch
        c = torch.cuda
        print(json.dumps({"name": c.get_device_name(), "props_name": c.get_device_properties(0).name, "cc": list(c.get_device_capability()),
                          "mem": list(c.mem_get_info()) if hasattr(c, "mem_get_info") else None,
                          "count": c.device_count(), "tf32": torch.backends.cuda.matmul.allow_tf32}))
    """

    def test_a_patch_that_fails_stays_off_alone_with_one_line_on_stderr(self):
        seen, stderr = run_python(self.PROBE, dict(RTX3090, FAKE_TORCH_FROZEN="get_device_properties"))
        self.assertEqual(seen["props_name"], "NVIDIA H100 80GB HBM3", "that function stays real")
        self.assertEqual((seen["name"], seen["cc"], seen["mem"][1], seen["count"]), ("NVIDIA GeForce RTX 3090", [8, 6], 24 * 1024 ** 3, 1),
                         "the other patches apply")
        self.assertEqual(stderr.splitlines(),
                         ["gpudev shim: torch.cuda.get_device_properties left real (AttributeError: readonly attribute get_device_properties)"])

    def test_a_wrapper_whose_helper_is_missing_is_not_installed(self):
        seen, stderr = run_python(self.PROBE.replace('"props_name": c.get_device_properties(0).name, ', ""),
                                  dict(RTX3090, FAKE_TORCH_MISSING="memory_reserved"))
        self.assertEqual((seen["name"], seen["mem"][1]), ("NVIDIA GeForce RTX 3090", 81559 * 1024 * 1024), "mem_get_info stays real")
        self.assertEqual(stderr.splitlines(), ["gpudev shim: torch.cuda.mem_get_info left real (AttributeError: torch.cuda has no memory_reserved)"])

    def test_tf32_and_memory_fraction_failures_are_one_line_each(self):
        t4 = dict(RTX3090, GPUDEV_TARGET_NAME="Tesla T4", GPUDEV_TENSOR="fp16", FAKE_TORCH_MISSING="set_per_process_memory_fraction",
                  FAKE_TORCH_NO_CUDNN="1")
        seen, stderr = run_python(self.PROBE, t4)
        self.assertEqual(seen["name"], "Tesla T4")
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 2, stderr)
        self.assertRegex(lines[0], r"^gpudev shim: TF32 \(allow_tf32\) left real \(AttributeError: .*cudnn")
        self.assertRegex(lines[1], r"^gpudev shim: the memory fraction left real \(AttributeError: .*set_per_process_memory_fraction")

    def test_a_torch_the_shim_cannot_patch_still_imports(self):
        seen, stderr = run_python("import json, torch; print(json.dumps(torch.__version__))", dict(RTX3090, FAKE_TORCH_NO_CUDA_ATTRIBUTE="1"))
        self.assertEqual(seen, "0.0-fake")
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, stderr)
        self.assertRegex(lines[0], r"^gpudev shim: torch left real \(AttributeError: .*'cuda'")


if __name__ == "__main__":
    unittest.main()
