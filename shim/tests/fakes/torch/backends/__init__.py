import os
from types import SimpleNamespace

cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=True))
cudnn = SimpleNamespace(allow_tf32=True)

if os.environ.get("FAKE_TORCH_NO_CUDNN") == "1":  # a torch whose backends lack cudnn
    del cudnn
