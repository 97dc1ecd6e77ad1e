"""The .pth install option, for images where PYTHONPATH cannot be set: `python3 -m gpudev_shim.install_pth [SITE_DIR]`
writes gpudev-shim.pth into SITE_DIR (default: the first site-packages), which puts the shim on sys.path
and installs the hook at every interpreter start."""
import os
import site
import sys

SHIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pth_text(shim_dir: str = SHIM_DIR) -> str:
    return "{}\nimport gpudev_shim.hook; gpudev_shim.hook.install()\n".format(shim_dir)


def main(argv) -> int:
    site_dir = argv[0] if argv else site.getsitepackages()[0]
    path = os.path.join(site_dir, "gpudev-shim.pth")
    with open(path, "w") as pth:
        pth.write(pth_text())
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
