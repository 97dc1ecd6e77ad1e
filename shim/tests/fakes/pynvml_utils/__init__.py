"""Fake pynvml 12.x utilities (the pynvml package on top of nvidia-ml-py): nvidia_smi moved here."""
