"""Activates the GPU Dev Environments shim in every Python of a cosplay container (PYTHONPATH starts
here), then runs the image's own sitecustomize, if it has one, so nothing is shadowed."""
import sys


def _activate() -> None:
    try:
        from gpudev_shim.hook import install
        install()
    except Exception as error:  # never break the interpreter
        sys.stderr.write("gpudev shim: not active ({})\n".format(error))


def _chain() -> None:
    # importlib.machinery and types are already loaded at start-up; importlib.util would cost ~1 ms.
    import importlib.machinery
    import os
    import types
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = types.ModuleType(spec.name)
        module.__spec__, module.__loader__, module.__file__ = spec, spec.loader, spec.origin
        spec.loader.exec_module(module)


_activate()
_chain()
