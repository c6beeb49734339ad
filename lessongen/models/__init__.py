"""The model seam and what stands behind it: the openai SDK, an in-process GGUF model, the catalog, discovery."""
