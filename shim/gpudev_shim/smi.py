"""The `nvidia-smi` of a cosplay container: runs the real one and rewrites what identifies the GPU."""
from __future__ import annotations

import _signal  # loaded at every interpreter start, unlike `signal` (which imports enum)
import posix
import sys

from .target import target_from_env

# `posix` rather than `os`, which with what it imports costs about 1 ms at every call; `typing` and
# `subprocess` would cost more than the whole rewrite (this runs on every nvidia-smi call; S1 in npm run bench).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable, List, Mapping, Optional, Sequence

    from .target import Target

TABLE_OPTIONS = {"-l", "--loop", "-lms", "--loop-ms", "-i", "--id"}


def _file_id(path: str) -> Optional[tuple]:
    """(device, inode) of an executable regular file, following links; None for anything else."""
    try:
        st = posix.stat(path)
    except OSError:
        return None
    regular = st.st_mode & 0o170000 == 0o100000
    return (st.st_dev, st.st_ino) if regular and posix.access(path, posix.X_OK) else None


def find_real(env: Mapping[str, str], own_dir: str) -> Optional[str]:
    """The first `nvidia-smi` on PATH that is not this shim (by file identity: a directory or link
    that leads back to the shim is skipped too)."""
    own = _file_id(own_dir.rstrip("/") + "/nvidia-smi")
    for directory in env.get("PATH", "").split(":"):
        if not directory:
            continue
        candidate = directory.rstrip("/") + "/nvidia-smi"
        found = _file_id(candidate)
        if found is not None and found != own:
            return candidate
    return None


def visible_slices(env: Mapping[str, str]) -> List[str]:
    """The MIG devices the NVIDIA runtime gave the container (NVIDIA_VISIBLE_DEVICES), in order."""
    return [d.strip() for d in env.get("NVIDIA_VISIBLE_DEVICES", "").split(",") if d.strip().startswith("MIG-")]


def process_env() -> Mapping[str, str]:
    return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape") for k, v in posix.environ.items()}


def query_format(args: Sequence[str]) -> Optional[dict]:
    """The fields and CSV options of a `--query-gpu` call (both `=` and space forms), else None."""
    fields, fmt = None, ""
    for i, arg in enumerate(args):
        for name in ("--query-gpu", "--format"):
            if arg == name and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1:]
            else:
                continue
            if name == "--query-gpu":
                fields = [f.strip() for f in value.split(",")]
            else:
                fmt = value
    if fields is None:
        return None
    return {"fields": fields, "header": "noheader" not in fmt, "units": "nounits" not in fmt}


def _is_table_call(args: Sequence[str]) -> bool:
    i = 0
    while i < len(args):
        name = args[i].split("=", 1)[0]
        if name not in TABLE_OPTIONS:
            return False
        i += 1 if "=" in args[i] or name in ("-l", "--loop") and (i + 1 >= len(args) or not args[i + 1].isdigit()) else 2
    return True


def rewriter_for(args: Sequence[str], target: Target, env: Optional[Mapping[str, str]] = None) -> Optional[Callable[[Iterable[str]], Iterable[str]]]:
    """A function from the real output's lines to the shown lines, or None to pass through.
    Each mode imports only its own rewriter: this runs on every nvidia-smi call."""
    query = query_format(args)
    if _is_table_call(args):
        return _frames(target, len(visible_slices(process_env() if env is None else env)))
    if query is not None:
        from .smi_other import rewrite_query
        loop = any(a.split("=", 1)[0] in ("-l", "--loop", "-lms", "--loop-ms") for a in args)
        slices = visible_slices(process_env() if env is None else env)
        return lambda lines: rewrite_query(lines, query, target, slices, loop)
    if "-L" in args or "--list-gpus" in args:
        from .smi_other import rewrite_listing
        only = [u for u in (env or process_env()).get("GPUDEV_HOST_GPUS", "").split(",") if u.strip()]
        return lambda lines: rewrite_listing(lines, target, only)
    if "-q" in args or "--query" in args:
        from .smi_units import rewrite_reports
        xml = "-x" in args or "--xml-format" in args
        slices = visible_slices(process_env() if env is None else env)
        return lambda lines: rewrite_reports(lines, target, slices, xml)
    return None


def pointed_at_session(args: Sequence[str], env: Mapping[str, str]) -> List[str]:
    """A process session's GPU (GPUDEV_HOST_GPUS, no container around it): nvidia-smi there sees every
    GPU of the host, so a table, query or `-q` call that names none is pointed at the session's with
    `-i` (`-L` is filtered by UUID instead, in rewrite_listing)."""
    ids = env.get("GPUDEV_HOST_GPUS", "").strip()
    named = any(a.split("=", 1)[0] in ("-i", "--id") for a in args)
    if not ids or named or "-L" in args or "--list-gpus" in args:
        return list(args)
    return list(args) + ["-i", ids]


def _frames(target: Target, slices: int) -> Callable[[Iterable[str]], Iterable[str]]:
    from .smi_table import frame_ends, rewrite_table

    def rewrite(lines: Iterable[str]) -> Iterable[str]:
        frame: List[str] = []
        state: dict = {}
        for line in lines:
            frame.append(line)
            if frame_ends(line, state):
                yield from rewrite_table(frame, target, slices)
                frame = []
        if frame:
            yield from rewrite_table(frame, target, slices)
    return rewrite


def _lines(fd: int, flush: Callable[[], None]) -> Iterable[str]:
    """The real output's lines as they come, read in large chunks; what was shown so far is flushed
    before each read that may wait (one write per chunk rather than per line: fewer wake-ups of the
    reader, which under load each cost a scheduler slice)."""
    pending = b""
    while True:
        flush()
        chunk = posix.read(fd, 65536)
        if not chunk:
            break
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for raw in lines:
            yield raw.decode("utf-8", "surrogateescape").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "surrogateescape").rstrip("\r")


def main(args: List[str], env: Optional[Mapping[str, str]] = None, own_dir: str = "") -> int:
    env = process_env() if env is None else env
    real = find_real(env, own_dir)
    if real is None:
        sys.stderr.write("nvidia-smi: the real nvidia-smi is not on PATH (the GPU Dev Environments shim wraps the NVIDIA driver's)\n")
        return 127
    target = target_from_env(env)
    rewrite = rewriter_for(args, target, env) if target else None
    # Python ignores SIGPIPE and SIGXFSZ, and a program it starts would inherit that (subprocess
    # restores them too): the real binary dies of SIGPIPE, as without the shim, when its reader goes away.
    restored = (_signal.SIGPIPE, _signal.SIGXFSZ)
    if rewrite is None:
        for number in restored:
            _signal.signal(number, _signal.SIG_DFL)
        posix.execv(real, [real] + list(args))
    read_end, write_end = posix.pipe()
    pid = _spawn(real, [real] + pointed_at_session(args, env), read_end, write_end, restored)
    posix.close(write_end)
    out = sys.stdout.buffer
    reader_gone = False
    try:
        for line in rewrite(_lines(read_end, out.flush)):
            out.write(line.encode("utf-8", "surrogateescape") + b"\n")
        out.flush()
    except KeyboardInterrupt:
        posix.kill(pid, 15)
    except BrokenPipeError:
        posix.kill(pid, 15)
        sys.stderr.close()
        reader_gone = True
    posix.close(read_end)
    status = _exit_code(posix.waitpid(pid, 0)[1])
    # A reader that stopped reading (`nvidia-smi | head`): the status a shell shows for the real one, killed by SIGPIPE.
    return 128 + 13 if reader_gone else status


def _spawn(real: str, argv: List[str], read_end: int, write_end: int, restored: tuple) -> int:
    """The real binary, its stdout into the pipe; posix_spawn (Python 3.8+), else fork and exec."""
    if hasattr(posix, "posix_spawn"):
        actions = [(posix.POSIX_SPAWN_DUP2, write_end, 1), (posix.POSIX_SPAWN_CLOSE, read_end)]
        return posix.posix_spawn(real, argv, posix.environ, file_actions=actions, setsigdef=restored)
    pid = posix.fork()
    if pid == 0:
        try:
            posix.dup2(write_end, 1)
            posix.close(read_end)
            for number in restored:
                _signal.signal(number, _signal.SIG_DFL)
            posix.execv(real, argv)
        finally:
            posix._exit(127)
    return pid


def _exit_code(status: int) -> int:
    """The real binary's exit status, or minus the signal that ended it (as subprocess reports it)."""
    return posix.WEXITSTATUS(status) if posix.WIFEXITED(status) else -posix.WTERMSIG(status)
