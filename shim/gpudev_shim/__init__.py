"""GPU Dev Environments shim: what runs inside a cosplay container (Python 3.8+, standard library only)."""
