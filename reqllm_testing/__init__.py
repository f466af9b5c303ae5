"""reqllm_testing: record and replay LLM provider traffic (being written)."""
