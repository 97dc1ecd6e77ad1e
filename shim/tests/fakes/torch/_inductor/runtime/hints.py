"""As torch 2.x's: DeviceProperties.create copies what Inductor's code generation needs."""
import typing


class DeviceProperties(typing.NamedTuple):
    type: str
    index: int
    cc: int
    major: typing.Optional[int] = None
    multi_processor_count: typing.Optional[int] = None

    @classmethod
    def create(cls, device):
        from torch._dynamo.device_interface import get_interface_for_device
        interface = get_interface_for_device(device)
        props = interface.get_device_properties(device.index)
        return cls(type=device.type, index=device.index, cc=interface.get_compute_capability(device.index),
                   major=props.major, multi_processor_count=props.multi_processor_count)
