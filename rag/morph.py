"""Japanese morphological analysis (Sudachi, core dictionary), shared by keyword search and the
question-word checks. Loaded on first use, never at import time.

Imports nothing from rag.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_tokenizer: Any = None
# Sudachi refuses inputs above ~49k bytes; statements are short, but a long one is cut in
# pieces of this many characters.
_PIECE = 10_000


def _sudachi() -> Any:
    global _tokenizer
    if _tokenizer is None:
        from sudachipy import Dictionary, SplitMode

        # Mode B: 札幌市 / 有識者 stay whole (C would fuse long compounds queries rarely use).
        _tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.B)
    return _tokenizer


def morphemes(text: str) -> list[tuple[str, tuple[str, ...], str]]:
    """(surface, part of speech, normalised form) of each morpheme of ``text``."""
    # A Sudachi tokenizer is not safe to share between threads: the whole text is analysed
    # under the lock (its morphemes are read before the next call reuses the tokenizer).
    with _lock:
        tok = _sudachi()
        return [
            (m.surface(), tuple(m.part_of_speech()), m.normalized_form())
            for start in range(0, len(text), _PIECE)
            for m in tok.tokenize(text[start : start + _PIECE])
        ]


def person_names(text: str) -> list[str]:
    """The words Sudachi's dictionary tags as people's names (固有名詞・人名): 不破哲三, 小池."""
    return [s for s, pos, _ in morphemes(text) if pos[1] == "固有名詞" and pos[2] == "人名"]
