"""The C backend (native/*.c through cffi), behind the same interface."""
