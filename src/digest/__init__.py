"""digest: gather recent articles, pick their leads, and mail a responsive digest."""

__version__ = "0.1.0"

__all__ = ["__version__"]
