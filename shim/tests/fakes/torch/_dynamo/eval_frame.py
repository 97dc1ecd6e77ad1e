"""As torch 2.x's: the compiled callable is a wrapper here that calls the user's code."""


def optimize(model):
    from torch._inductor.compile_fx import compile_fx
    compiled = compile_fx(model)

    def _fn(*args, **kwargs):
        return compiled(*args, **kwargs)
    return _fn
