"""Errors that reach users as sentences (CLI: exit 1 + message; UI: gr.Error)."""

from __future__ import annotations


class MinutesRagError(Exception):
    """Base class: the message is shown to the user as is, so write it as a sentence that
    names the file/setting and says what to do (Japanese first, English after ' / ')."""


class InputError(MinutesRagError):
    """A file could not be read or parsed. ``file`` names it."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.reason = message


class ConfigError(MinutesRagError):
    """A setting has an unusable value."""


class IndexError_(MinutesRagError):
    """The index is missing, corrupt, or was built with a different model."""


class ModelError(MinutesRagError):
    """The embedding model could not be prepared or loaded."""


class LLMError(MinutesRagError):
    """The configured chat model could not be reached or answered unusably."""
