class _Driver:
    """triton.runtime.driver.driver: the backend's driver, started on first use."""

    def __init__(self):
        self._active = None

    @property
    def active(self):
        if self._active is None:
            from triton.backends.nvidia.driver import CudaDriver
            self._active = CudaDriver()
        return self._active


driver = _Driver()
