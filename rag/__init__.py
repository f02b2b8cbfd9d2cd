"""minutes-rag: cited question answering over Japanese meeting minutes (議事録)."""

__version__ = "0.1.0"
