"""Adapters of the rag ports to the outside world: embedding models, vector stores."""
