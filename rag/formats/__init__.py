"""One recogniser per minutes form. Each module offers ``detect(lines) -> str | None`` (the reason
it recognises the document, or None) and ``parse(doc, reason) -> Meeting``; ``rag.parse`` tries
them in order (``records`` reads JSON/CSV for ``rag.ingest``). They import only what lies below
them — ``rag.formats.common``, ``rag.exchange``, ``rag.dates``, ``rag.text``, ``rag.types``,
``rag.config``, ``rag.errors`` — never each other, ``rag.parse`` or ``rag.ingest``
(tests/test_imports.py)."""
