"""Type stubs for Septet's native core (``engine._native``); checked with stubtest."""
