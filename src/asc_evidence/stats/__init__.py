"""Statistical methods, one module per family."""
