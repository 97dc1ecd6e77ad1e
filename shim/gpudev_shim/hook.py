"""Installs the cosplay's import hook: a sys.meta_path finder that wraps the real loaders of torch
and pynvml and patches each module right after it has executed. It asks the other finders for the
real spec (chaining, never replacing __import__), so other import hooks keep working."""
import importlib.abc
import sys
from typing import Callable, Dict, Optional

from .target import Target, target_from_env


def _patchers() -> Dict[str, Callable]:
    from .pynvml_patch import patch_pynvml
    from .torch_patch import patch_torch
    return {"torch": patch_torch, "pynvml": patch_pynvml}


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader, patch: Callable[[object], None]) -> None:
        self._real = real
        self._patch = patch

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module) -> None:
        self._real.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):
        return getattr(self._real, name)


class CosplayFinder(importlib.abc.MetaPathFinder):
    def __init__(self, target: Target) -> None:
        self.target = target
        self._patchers = _patchers()
        self._busy = set()

    def find_spec(self, fullname: str, path=None, target=None):
        patch = self._patchers.get(fullname)
        if patch is None or fullname in self._busy:
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
            spec.loader = _PatchingLoader(spec.loader, lambda module: patch(module, self.target))
        return spec


def install(env=None) -> Optional[CosplayFinder]:
    """Installs the finder when a cosplay target is set; does nothing (and costs next to nothing) otherwise."""
    import os
    target = target_from_env(os.environ if env is None else env)
    if target is None or any(isinstance(f, CosplayFinder) for f in sys.meta_path):
        return None
    finder = CosplayFinder(target)
    sys.meta_path.insert(0, finder)
    for name, patch in finder._patchers.items():
        if name in sys.modules:  # imported before the hook: patch in place
            patch(sys.modules[name], target)
    return finder
