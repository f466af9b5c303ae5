"""pytest plugin for reqllm fixtures (being written)."""
