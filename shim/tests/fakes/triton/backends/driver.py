class GPUDriver:
    def __init__(self):
        import torch
        self.get_device_capability = torch.cuda.get_device_capability
        self.get_current_device = torch.cuda.current_device
