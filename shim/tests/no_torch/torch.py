"""Put first on PYTHONPATH, this hides an installed torch (Debian's python3-torch of the torch tier), so a
test can see what happens without one."""
raise ModuleNotFoundError("No module named 'torch'", name="torch")
