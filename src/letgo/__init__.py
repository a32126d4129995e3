"""letgo: offline voice-guided meditations on release and self-completeness.

From Python, `letgo.Session` is a session (see `letgo.api`): its script, a rendered file, or
its sound as pydub AudioSegments. letgo's errors are importable from here; every one is a
`LetgoError`, and a `UsageError` is one about what was asked for.
"""

__version__ = "0.1.0"

from letgo.errors import (
    EncodeError,
    EngineUnavailable,
    FitError,
    LetgoError,
    OutputError,
    PlanError,
    SettingError,
    SynthesisError,
    TemplateError,
    TemplateNotFound,
    UsageError,
    VariableError,
)

__all__ = [
    "Session",
    "LetgoError",
    "UsageError",
    "SettingError",
    "TemplateNotFound",
    "TemplateError",
    "VariableError",
    "FitError",
    "SynthesisError",
    "EngineUnavailable",
    "EncodeError",
    "OutputError",
    "PlanError",
]


def __getattr__(name: str):
    if name == "Session":  # loaded when first asked for: the command line does not need it
        from letgo.api import Session

        return Session
    raise AttributeError(f"module 'letgo' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), "Session"})
