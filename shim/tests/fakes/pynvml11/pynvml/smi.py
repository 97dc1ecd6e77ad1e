"""As pynvml 11.x's pynvml/smi.py: `from pynvml.nvml import *`, then nvidia_smi calls them by global name."""
from pynvml.nvml import *  # noqa: F401,F403
from smi_query import query


class nvidia_smi:
    __instance = None

    @staticmethod
    def getInstance():
        if nvidia_smi.__instance is None:
            nvmlInit()  # noqa: F405
            nvidia_smi.__instance = nvidia_smi()
        return nvidia_smi.__instance

    def DeviceQuery(self, query_string=None):
        return query(globals())
