#!/usr/bin/env python3
"""Measures this container's GPU as the cosplay delivers it: GEMM TFLOPS (FP32 with TF32 off, TF32,
FP16, BF16) and device-to-device copy bandwidth, timed with CUDA events after a warm-up, sized to the
target's memory. `--json` prints raw samples and medians; `--samples N` (default 10); `--only fp32,bandwidth`
measures those metrics alone (calibration runs FP32 only)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from gpudev_shim.bench_core import GEMM_PRECISIONS, copy_bytes, copy_gbs, gemm_size, gemm_tflops, median, skipped_precisions  # noqa: E402
from gpudev_shim.target import target_from_env  # noqa: E402

WARMUP = 3
ITERATIONS = 5


def timed(torch, work, samples):
    """Milliseconds per call of `work`, one sample per CUDA-event pair around ITERATIONS calls."""
    for _ in range(WARMUP):
        work()
    torch.cuda.synchronize()
    results = []
    for _ in range(samples):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(ITERATIONS):
            work()
        end.record()
        torch.cuda.synchronize()
        results.append(start.elapsed_time(end) / ITERATIONS)
    return results


def run(torch, target, samples, only=None):
    results, skipped = [], {p: "the target has no {} tensor path".format(p.upper()) for p in skipped_precisions(target)}
    wanted = lambda metric: only is None or metric in only  # noqa: E731
    matmul_flags = torch.backends.cuda.matmul
    saved = matmul_flags.allow_tf32
    try:
        for precision, dtype_name, element_bytes in GEMM_PRECISIONS:
            if precision in skipped or not wanted(precision):
                continue
            matmul_flags.allow_tf32 = precision == "tf32"
            n = gemm_size(target, element_bytes)
            dtype = getattr(torch, dtype_name)
            a = torch.randn(n, n, device="cuda", dtype=dtype)
            b = torch.randn(n, n, device="cuda", dtype=dtype)
            ms = timed(torch, lambda: torch.matmul(a, b), samples)
            rates = [gemm_tflops(n, m) for m in ms]
            results.append({"metric": precision, "unit": "TFLOPS", "size": n, "samples": rates, "median": median(rates)})
            del a, b
    finally:
        matmul_flags.allow_tf32 = saved
    if not wanted("bandwidth"):
        return results, skipped
    nbytes = copy_bytes(target)
    source = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    destination = torch.empty_like(source)
    ms = timed(torch, lambda: destination.copy_(source), samples)
    rates = [copy_gbs(nbytes, m) for m in ms]
    results.append({"metric": "bandwidth", "unit": "GB/s", "size": nbytes, "samples": rates, "median": median(rates)})
    return results, skipped


def main(argv):
    samples = int(argv[argv.index("--samples") + 1]) if "--samples" in argv else 10
    only = set(argv[argv.index("--only") + 1].split(",")) if "--only" in argv else None
    target = target_from_env(os.environ)
    report = {"target": target.name if target else None, "results": [], "skipped": {}, "error": None}
    try:
        import torch
    except ImportError as error:
        report["error"] = "torch is not installed ({})".format(error)
    else:
        if target is None:
            report["error"] = "not a cosplay: GPUDEV_TARGET_NAME and GPUDEV_VRAM_BYTES are not set"
        elif not torch.cuda.is_available():
            report["error"] = "no CUDA device visible to torch"
        else:
            report["device"] = torch.cuda.get_device_name(0)
            report["results"], report["skipped"] = run(torch, target, samples, only)
    if "--json" in argv:
        print(json.dumps(report, indent=2))
    else:
        for result in report["results"]:
            print("{:<10} {:>10.1f} {:<7} (median of {}, size {})".format(result["metric"], result["median"], result["unit"], len(result["samples"]), result["size"]))
        for metric, reason in report["skipped"].items():
            print("{:<10} skipped: {}".format(metric, reason))
        if report["error"]:
            print("bench: " + report["error"], file=sys.stderr)
    return 1 if report["error"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
