class JITFunction:
    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, grid):
        def launch(*args):
            from triton.compiler.compiler import compile
            kernel = compile(self.fn.__name__)  # for the current target, as JITFunction.run does
            kernel.load()
            return kernel.arch
        return launch


def jit(fn):
    return JITFunction(fn)
