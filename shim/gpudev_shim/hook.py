"""Installs the cosplay's import hook: a sys.meta_path finder that wraps the real loaders of torch
and pynvml and patches each module right after it has executed. It asks the other finders for the
real spec (chaining, never replacing __import__), so other import hooks keep working."""
from __future__ import annotations

import sys

from .target import Target, target_from_env

# No importlib.abc and no typing here: this runs at every interpreter start, and importlib.abc alone
# costs ~10 ms. The import system only needs find_spec / create_module / exec_module.


def _patch(name: str, module, target: Target) -> None:
    """Patches torch or a pynvml module; the patch code itself is imported only when that module is.
    Whatever goes wrong, the import itself succeeds (unpatched) and one line on stderr says so."""
    try:
        if name == "torch":
            from .torch_patch import patch_torch
            patch_torch(module, target)
        else:
            from .pynvml_patch import patch_pynvml
            patch_pynvml(module, target)
    except Exception as error:
        sys.stderr.write("gpudev shim: {} left real ({}: {})\n".format(name, type(error).__name__, error))


# pynvml 11.x is a package whose nvml and smi modules each hold their own copies of the functions
# (`from pynvml.nvml import *`); nvidia-ml-py (12.x, 13.x) is one pynvml module, and pynvml 12.x's
# nvidia_smi moved to pynvml_utils.smi.
PATCHED_MODULES = ("torch", "pynvml", "pynvml.nvml", "pynvml.smi", "pynvml_utils.smi")


class _PatchingLoader:
    def __init__(self, real, patch) -> None:
        self._real = real
        self._patch = patch

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module) -> None:
        self._real.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):
        return getattr(self._real, name)


class CosplayFinder:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._busy = set()

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname not in PATCHED_MODULES or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.discard(fullname)
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, lambda module: _patch(fullname, module, self.target))
        return spec


def install(env=None) -> CosplayFinder | None:
    """Installs the finder when a cosplay target is set; does nothing (and costs next to nothing) otherwise."""
    import os
    target = target_from_env(os.environ if env is None else env)
    if target is None or any(isinstance(f, CosplayFinder) for f in sys.meta_path):
        return None
    finder = CosplayFinder(target)
    sys.meta_path.insert(0, finder)
    for name in PATCHED_MODULES:
        if name in sys.modules:  # imported before the hook: patch in place
            _patch(name, sys.modules[name], target)
    return finder
