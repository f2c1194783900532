"""digestqa: a local-first research assistant for arXiv daily digests."""

__version__ = "0.1.0"
