"""The local supervisor behind `make up`."""
