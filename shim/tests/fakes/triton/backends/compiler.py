import typing


class GPUTarget(typing.NamedTuple):
    backend: str
    arch: int
    warp_size: int
