"""As pynvml 12.x's pynvml_utils/smi.py: star-imports the NVML functions and calls them by global name."""
from pynvml import *  # noqa: F401,F403
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
