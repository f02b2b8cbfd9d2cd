"""One recogniser per minutes form. Each module offers ``detect(lines) -> str | None`` (the reason
it recognises the document, or None) and ``parse(doc, reason) -> Meeting``; ``rag.parse`` tries
them in order. They import ``rag.formats.common``, ``rag.dates``, ``rag.text`` and ``rag.types``
only, never each other."""
