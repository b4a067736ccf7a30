"""cujeval."""
