"""Test support other services may reuse: local protocol fakes of external APIs."""
