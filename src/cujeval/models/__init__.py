"""The models that ship inside the package and run in NumPy, no torch and no model hub:
all-MiniLM-L6-v2 sentence embeddings (embeddings, minilm, bert) and the grounding
cross-encoder's runner (cross_encoder)."""
