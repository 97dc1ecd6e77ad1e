"""The checks of verify.py. Each is {id, title, status: pass|fail|skip, expected, actual, detail}."""
import importlib
import os
import re
import shutil
import subprocess
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .smi import find_real
from .target import Target, target_from_env

Run = Callable[[Sequence[str]], Tuple[int, str]]
GIB = 1024 ** 3


def run_command(env: Mapping[str, str]) -> Run:
    def run(argv: Sequence[str]) -> Tuple[int, str]:
        try:
            done = subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, timeout=60)
            return done.returncode, done.stdout
        except (OSError, subprocess.TimeoutExpired) as error:
            return 127, str(error)
    return run


class Report:
    def __init__(self) -> None:
        self.checks: List[Dict] = []

    def add(self, id: str, title: str, expected, actual, ok: Optional[bool], detail: str = "") -> None:
        status = "skip" if ok is None else "pass" if ok else "fail"
        self.checks.append({"id": id, "title": title, "status": status, "expected": expected, "actual": actual, "detail": detail})

    def skip(self, id: str, title: str, reason: str) -> None:
        self.add(id, title, None, None, None, reason)


def _smi_checks(report: Report, target: Target, run: Run) -> None:
    names = {
        "table": (["nvidia-smi"], lambda out: re.findall(r"^\|\s+\d+\s+(.+?)\s+(?:On|Off|N/A)\s+\|\s+[0-9A-Fa-f]{4,8}:", out, re.M)),
        "list": (["nvidia-smi", "-L"], lambda out: re.findall(r"^GPU \d+: (.*?) \(UUID:", out, re.M)),
        "query": (["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], lambda out: [l.strip() for l in out.splitlines() if l.strip()]),
        "q": (["nvidia-smi", "-q"], lambda out: re.findall(r"^\s*Product Name\s+: (.*)$", out, re.M)),
    }
    outputs = {}
    for kind, (argv, extract) in names.items():
        code, out = run(argv)
        outputs[kind] = out if code == 0 else ""
        shown = extract(out) if code == 0 else []
        ok = bool(shown) and all(target.name.startswith(n.replace("...", "")) for n in shown)
        report.add("smi.{}.name".format(kind), "nvidia-smi {} shows the target name".format(" ".join(argv[1:2]) or "table"),
                   target.name, shown or "exit {}".format(code), ok)
    totals = {
        "table": re.findall(r"/\s*(\d+)MiB \|", outputs["table"]),
        "q": re.findall(r"FB Memory Usage\s*\n\s*Total\s+: (\d+) MiB", outputs["q"]),
    }
    code, out = run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"])
    totals["query"] = [l.strip() for l in out.splitlines() if l.strip()] if code == 0 else []
    for kind, found in totals.items():
        label = {"table": "table", "q": "-q", "query": "--query-gpu"}[kind]
        report.add("smi.{}.memory".format(kind), "nvidia-smi {} shows the target memory".format(label), target.vram_mib,
                   [int(v) for v in found if v.isdigit()] or None, bool(found) and all(v == str(target.vram_mib) for v in found))
    code, out = run(["nvidia-smi", "--query-gpu=mig.mode.current", "--format=csv,noheader"])
    modes = [l.strip() for l in out.splitlines() if l.strip()]
    hidden = "MIG devices" not in outputs["table"] and not re.search(r"^\s+MIG ", outputs["list"], re.M) and all(m in ("Disabled", "[N/A]") for m in modes)
    report.add("smi.mig-hidden", "MIG is hidden (no MIG section, no MIG lines, mode Disabled)", "hidden", modes, hidden)


def _torch_checks(report: Report, target: Target, importer) -> None:
    titles = ["torch.name", "torch.properties", "torch.capability", "torch.sm-count", "torch.mem-get-info",
              "torch.alloc-90", "torch.alloc-over", "torch.tf32", "torch.bf16"]
    try:
        torch = importer("torch")
    except ImportError as error:
        for id in titles:
            report.skip(id, id, "torch is not installed ({})".format(error))
        return
    if not torch.cuda.is_available():
        for id in titles:
            report.skip(id, id, "no CUDA device visible to torch")
        return
    cuda = torch.cuda
    props = cuda.get_device_properties(0)
    cap = target.vram_bytes
    report.add("torch.name", "torch.cuda.get_device_name", target.name, cuda.get_device_name(0), cuda.get_device_name(0) == target.name)
    report.add("torch.properties", "get_device_properties: name and total_memory", [target.name, cap], [props.name, props.total_memory],
               props.name == target.name and props.total_memory == cap)
    cc = list(target.compute_capability) if target.compute_capability else None
    report.add("torch.capability", "get_device_capability", cc, list(cuda.get_device_capability(0)), cc is None or list(cuda.get_device_capability(0)) == cc)
    report.add("torch.sm-count", "multi_processor_count", target.sm_count, props.multi_processor_count,
               target.sm_count is None or props.multi_processor_count == target.sm_count)
    free, total = cuda.mem_get_info(0)
    report.add("torch.mem-get-info", "mem_get_info total is the cap, free within it", cap, [free, total], total == cap and 0 <= free <= cap)
    size = int(0.9 * (cap - cuda.memory_reserved(0)))
    try:
        block = torch.empty(size, dtype=torch.uint8, device="cuda")
        del block
        cuda.empty_cache()
        report.add("torch.alloc-90", "allocating 90% of the target's memory succeeds", size, size, True)
    except RuntimeError as error:
        report.add("torch.alloc-90", "allocating 90% of the target's memory succeeds", size, str(error)[:200], False)
    over = cap + GIB
    try:
        block = torch.empty(over, dtype=torch.uint8, device="cuda")
        del block
        report.add("torch.alloc-over", "allocating the target's memory + 1 GiB fails", "out of memory", "allocated", False)
    except RuntimeError as error:
        report.add("torch.alloc-over", "allocating the target's memory + 1 GiB fails", "out of memory", str(error)[:200], "out of memory" in str(error).lower())
    flags = [torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32]
    has_tf32 = "tf32" in target.tensor
    report.add("torch.tf32", "TF32 is off where the target has none", "torch default" if has_tf32 else [False, False], flags, has_tf32 or flags == [False, False])
    bf16 = bool(cuda.is_bf16_supported())
    report.add("torch.bf16", "is_bf16_supported matches the target", "bf16" in target.tensor, bf16, bf16 == ("bf16" in target.tensor))


def _pynvml_checks(report: Report, target: Target, importer) -> None:
    try:
        pynvml = importer("pynvml")
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    except Exception as error:  # ImportError, or NVMLError without a driver
        for id in ("pynvml.name", "pynvml.memory"):
            report.skip(id, id, "pynvml unavailable ({})".format(error))
        return
    name = pynvml.nvmlDeviceGetName(handle)
    name = name.decode() if isinstance(name, bytes) else name
    report.add("pynvml.name", "nvmlDeviceGetName", target.name, name, name == target.name)
    total = pynvml.nvmlDeviceGetMemoryInfo(handle).total
    report.add("pynvml.memory", "nvmlDeviceGetMemoryInfo total", target.vram_bytes, total, total == target.vram_bytes)


def _host_checks(report: Report, target: Target, env: Mapping[str, str], real: Optional[str], run: Run) -> None:
    def real_query(field: str) -> Optional[float]:
        code, out = run([real, "--query-gpu={}".format(field), "--format=csv,noheader,nounits"]) if real else (1, "")
        match = re.match(r"\s*([\d.]+)", out)
        return float(match.group(1)) if code == 0 and match else None

    if target.expect_clock_mhz is None:
        report.skip("host.clock", "graphics clock locked as planned", "the plan locks no clock")
    else:
        clock = real_query("clocks.sm")
        report.add("host.clock", "graphics clock locked as planned", target.expect_clock_mhz, clock,
                   clock is not None and abs(clock - target.expect_clock_mhz) <= 15, "the real nvidia-smi, clocks.sm")
    if target.expect_power_w is None:
        report.skip("host.power", "power limit as planned", "the plan caps no power")
    else:
        watts = real_query("power.limit")
        report.add("host.power", "power limit as planned", target.expect_power_w, watts,
                   watts is not None and abs(watts - target.expect_power_w) < 1, "the real nvidia-smi, power.limit")
    if "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" not in env:
        report.skip("mps.limits", "MPS limits reach a daemon", "not an MPS cosplay")
    else:
        pipe = env.get("CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps")
        reachable = os.path.exists(os.path.join(pipe, "control"))
        report.add("mps.limits", "MPS limits reach a daemon (they are silently ignored without one)",
                   {"pipe": pipe, "threads": env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"], "memory": env.get("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT")},
                   "control pipe found" if reachable else "no control pipe", reachable)


def verify(env: Mapping[str, str], shim_bin: str, run: Optional[Run] = None, importer=importlib.import_module) -> Report:
    report = Report()
    run = run or run_command(env)
    target = target_from_env(env)
    report.add("env.target", "GPUDEV_* variables describe a target", "GPUDEV_TARGET_NAME and GPUDEV_VRAM_BYTES",
               target.name if target else None, target is not None)
    if target is None:
        return report
    shim = os.path.realpath(os.path.join(shim_bin, "nvidia-smi"))
    first = shutil.which("nvidia-smi", path=env.get("PATH", ""))
    report.add("path.shim-first", "the shim's nvidia-smi is first on PATH", shim, first and os.path.realpath(first), first is not None and os.path.realpath(first) == shim)
    real = find_real(env, shim_bin)
    report.add("path.real-found", "the real nvidia-smi is found behind the shim", "a path", real, real is not None)
    if real is None:
        for id in ("smi.table.name", "smi.list.name", "smi.query.name", "smi.q.name", "smi.table.memory", "smi.q.memory", "smi.query.memory", "smi.mig-hidden",
                   "smi.gpu-count", "smi.ecc-mig"):
            report.skip(id, id, "no real nvidia-smi: no GPU here")
    else:
        _smi_checks(report, target, run)
        smi_session_checks(report, target, run)
    _torch_checks(report, target, importer)
    _pynvml_checks(report, target, importer)
    _host_checks(report, target, env, real, run)
    return report


def smi_session_checks(report: Report, target: Target, run: Run) -> None:
    """The session's GPU count in every nvidia-smi form, and the table's ECC and MIG cells per the target."""
    _, table = run(["nvidia-smi"])
    _, listing = run(["nvidia-smi", "-L"])
    _, query = run(["nvidia-smi", "--query-gpu=mig.mode.current", "--format=csv,noheader"])
    _, full = run(["nvidia-smi", "-q"])
    rows = re.findall(r"^\|\s+\d+\s+.+?\s+(?:On|Off|N/A)\s+\|\s+[0-9A-Fa-f]{4,8}:\S+\s+\S+\s+\|\s+(\S+) \|\n.*\n\|.*\|\s+(\S+) \|$", table, re.M)
    counts = {"table": len(rows), "list": len(re.findall(r"^GPU \d+: ", listing, re.M)), "query": len([l for l in query.splitlines() if l.strip()]),
              "q": len(re.findall(r"^GPU [0-9A-Fa-f]+:\S+$", full, re.M))}
    report.add("smi.gpu-count", "nvidia-smi shows the session's GPUs (table, -L, --query-gpu, -q)", target.count, counts,
               all(n == target.count for n in counts.values()))
    if target.has_ecc is None and target.mig_capable is None:
        report.skip("smi.ecc-mig", "ECC and MIG cells per the target", "the plan does not say whether the target has ECC or MIG")
        return
    want_ecc = "N/A" if target.has_ecc is False else None
    want_mig = {False: "N/A", True: "Disabled"}.get(target.mig_capable)
    ok = bool(rows) and all((want_ecc is None or ecc == want_ecc) and (want_mig is None or mig == want_mig) for ecc, mig in rows)
    report.add("smi.ecc-mig", "the table's Volatile Uncorr. ECC and MIG M. cells per the target", [want_ecc or "the host's", want_mig or "the host's"],
               rows, ok)
