from types import SimpleNamespace

cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=True))
cudnn = SimpleNamespace(allow_tf32=True)
