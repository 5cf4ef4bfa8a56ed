"""One parser module per source publication; each lists its processed tables in ``TABLES``."""
