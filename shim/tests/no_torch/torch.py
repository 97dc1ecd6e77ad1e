"""Shadows an installed torch (Debian's python3-torch) for the tests of a container without one."""
raise ImportError("No module named 'torch'")
