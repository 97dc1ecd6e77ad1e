"""What a multiprocessing spawn child reports about the hook (imported by the child, so it must be a module)."""


def report(_):
    import sys

    import torch
    return {"finder": any(type(f).__name__ == "CosplayFinder" for f in sys.meta_path),
            "patched": hasattr(torch.cuda.get_device_name, "_gpudev_wrapped"),
            "name_module": torch.cuda.get_device_name.__module__}
