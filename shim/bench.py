#!/usr/bin/env python3
"""Measures this container's GPU as the cosplay delivers it: GEMM TFLOPS (FP32 with TF32 off, TF32,
FP16, BF16) as the best of a mamf-style sweep of shapes sized to the target's memory, device-to-device
copy bandwidth, and, with torch.distributed and 2 or more GPUs visible, all-reduce bus bandwidth; each
timed with CUDA events after a warm-up. The torch, CUDA and driver versions come with the results.
`--json` prints raw samples, medians and every shape's median; `--samples N` (default 10);
`--only fp32,bandwidth` measures those metrics alone (calibration runs FP32 only; `--only versions`
measures nothing)."""
import json
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from gpudev_shim.bench_core import (  # noqa: E402
    GEMM_PRECISIONS, allreduce_bytes, driver_version, allreduce_skip_reason, best_of, bus_gbs, copy_bytes, copy_gbs, gemm_shapes,
    gemm_tflops, median, skipped_precisions)
from gpudev_shim.target import target_from_env  # noqa: E402

WARMUP = 3
ITERATIONS = 5
RANK_TIMEOUT_S = 300


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


def gemm_sweep(torch, target, dtype, element_bytes, samples):
    sweep = []
    for m, n, k in gemm_shapes(target, element_bytes):
        a = torch.randn(m, k, device="cuda", dtype=dtype)
        b = torch.randn(k, n, device="cuda", dtype=dtype)
        rates = [gemm_tflops((m, n, k), ms) for ms in timed(torch, lambda: torch.matmul(a, b), samples)]
        sweep.append({"shape": [m, n, k], "samples": rates, "median": median(rates)})
        del a, b
    return sweep


def gemms(torch, target, samples, wanted, skipped):
    results = []
    matmul_flags = torch.backends.cuda.matmul
    saved = matmul_flags.allow_tf32
    try:
        for precision, dtype_name, element_bytes in GEMM_PRECISIONS:
            if precision in skipped or not wanted(precision):
                continue
            matmul_flags.allow_tf32 = precision == "tf32"
            sweep = gemm_sweep(torch, target, getattr(torch, dtype_name), element_bytes, samples)
            best = best_of(sweep)
            results.append({"metric": precision, "unit": "TFLOPS", "shape": best["shape"], "samples": best["samples"],
                            "median": best["median"], "sweep": [{"shape": s["shape"], "median": s["median"]} for s in sweep]})
    finally:
        matmul_flags.allow_tf32 = saved
    return results


def bandwidth(torch, target, samples):
    nbytes = copy_bytes(target)
    source = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    destination = torch.empty_like(source)
    rates = [copy_gbs(nbytes, ms) for ms in timed(torch, lambda: destination.copy_(source), samples)]
    return {"metric": "bandwidth", "unit": "GB/s", "size": nbytes, "samples": rates, "median": median(rates)}


def allreduce_rank(torch, target, rank, world, samples):
    """One rank of the all-reduce (a process per GPU, as NCCL expects); rank 0 prints its timings."""
    import torch.distributed as dist
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    try:
        tensor = torch.empty(allreduce_bytes(target) // 4, dtype=torch.float32, device="cuda")
        ms = timed(torch, lambda: dist.all_reduce(tensor), samples)
    finally:
        dist.destroy_process_group()
    if rank == 0:
        print(json.dumps({"milliseconds": ms}))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def allreduce(torch, target, samples):
    """All-reduce bus bandwidth across every visible GPU, or why it was not measured."""
    try:
        import torch.distributed as dist
        has_distributed, has_nccl = dist.is_available(), dist.is_nccl_available()
    except ImportError:
        has_distributed, has_nccl = False, False
    world = torch.cuda.device_count()
    reason = allreduce_skip_reason(has_distributed, has_nccl, world)
    if reason:
        return None, reason
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    ranks = [subprocess.Popen([sys.executable, os.path.realpath(__file__), "--allreduce-rank", str(rank), "--world",
                               str(world), "--samples", str(samples)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True) for rank in range(world)]
    outputs = []
    try:
        for process in ranks:
            outputs.append(process.communicate(timeout=RANK_TIMEOUT_S))
    except subprocess.TimeoutExpired:
        for process in ranks:
            process.kill()
        return None, "the all-reduce ranks did not finish in {} s".format(RANK_TIMEOUT_S)
    failed = [(rank, err) for rank, (process, (_, err)) in enumerate(zip(ranks, outputs)) if process.returncode]
    if failed:
        rank, err = failed[0]
        return None, "all-reduce rank {} failed: {}".format(rank, (err.strip().splitlines() or ["no output"])[-1])
    nbytes = allreduce_bytes(target)
    rates = [bus_gbs(nbytes, ms, world) for ms in json.loads(outputs[0][0])["milliseconds"]]
    return {"metric": "allreduce", "unit": "GB/s", "size": nbytes, "ranks": world, "samples": rates,
            "median": median(rates)}, None


def versions(torch):
    """What the efficiency depends on besides the GPU: torch, the CUDA it was built with, the driver."""
    def smi(*args):
        try:
            return subprocess.run(["nvidia-smi", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""
    query = smi("--query-gpu=driver_version", "--format=csv,noheader")
    driver = driver_version(query, "" if driver_version(query, "") else smi())
    return {"torch": getattr(torch, "__version__", None), "cuda": getattr(getattr(torch, "version", None), "cuda", None),
            "driver": driver}


def run(torch, target, samples, only=None):
    skipped = {p: "the target has no {} tensor path".format(p.upper()) for p in skipped_precisions(target)}
    wanted = lambda metric: only is None or metric in only  # noqa: E731
    results = gemms(torch, target, samples, wanted, skipped)
    if wanted("bandwidth"):
        results.append(bandwidth(torch, target, samples))
    if wanted("allreduce"):
        result, reason = allreduce(torch, target, samples)
        if result:
            results.append(result)
        else:
            skipped["allreduce"] = reason
    return results, skipped


def argument(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv else default


def main(argv):
    samples = int(argument(argv, "--samples", "10"))
    only = set(argv[argv.index("--only") + 1].split(",")) if "--only" in argv else None
    target = target_from_env(os.environ)
    if "--allreduce-rank" in argv:
        import torch
        allreduce_rank(torch, target, int(argument(argv, "--allreduce-rank", "0")), int(argument(argv, "--world", "1")), samples)
        return 0
    report = {"target": target.name if target else None, "results": [], "skipped": {}, "error": None}
    try:
        import torch
    except ImportError as error:
        report["error"] = "torch is not installed ({})".format(error)
    else:
        report["versions"] = versions(torch)
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
            where = "x".join(map(str, result["shape"])) if "shape" in result else "{} bytes".format(result["size"])
            print("{:<10} {:>10.1f} {:<7} (median of {}, {})".format(result["metric"], result["median"], result["unit"], len(result["samples"]), where))
        for metric, reason in report["skipped"].items():
            print("{:<10} skipped: {}".format(metric, reason))
        if report["error"]:
            print("bench: " + report["error"], file=sys.stderr)
    return 1 if report["error"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
