"""One exception family, so the CLI can turn any of them into one clear line.

`UsageError` means the user asked for something that cannot be done as asked (exit 2);
any other `LetgoError` means the work itself failed (exit 1).
"""

from __future__ import annotations


class LetgoError(Exception):
    """Base of every error letgo raises on purpose."""

    exit_code = 1


class UsageError(LetgoError):
    """Bad input from the user: a name, a value, a file or a path."""

    exit_code = 2


class SettingError(UsageError):
    """A setting's value that cannot be used. It names the setting, not a flag: `place` says
    where the value was written (`config.toml: [voice] rate = 5000`, `--rate 5000`), filled
    in by whoever knows (see request.located)."""

    def __init__(self, setting: str, value, problem: str, place: str | None = None):
        self.setting, self.value, self.problem = setting, value, problem
        self.placed = place is not None
        self.place = place or (setting if value is None else f"{setting} = {value!r}")
        super().__init__(f"{self.place}: {problem}")

    def at(self, place: str) -> SettingError:
        """The same error, said of the value written at `place`."""
        return type(self)(self.setting, self.value, self.problem, place)

    def __reduce__(self):
        return type(self), (
            self.setting,
            self.value,
            self.problem,
            self.place if self.placed else None,
        )


class TemplateNotFound(UsageError):
    """No built-in or user template of that name, and no such file."""


class TemplateError(UsageError):
    """A template or script that cannot be rendered or parsed; carries file:line."""

    def __init__(
        self,
        message: str,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        self.source, self.line, self.column = source, line, column
        where = ":".join(str(p) for p in (source, line, column) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)


class VariableError(UsageError):
    """A missing, unknown or malformed template variable."""


class FitError(UsageError):
    """The length asked for cannot hold the script."""


class SynthesisError(LetgoError):
    """A voice engine could not speak a sentence, even after retries."""


class EngineUnavailable(UsageError):
    """The engine or voice asked for is not installed here."""


class VoiceNotFound(SettingError, EngineUnavailable):
    """The engine has no voice of that name: a setting's value, so it says where it was set."""


class EncodeError(LetgoError):
    """The encoder failed; the message names the file and what ffmpeg said."""


class OutputError(UsageError):
    """The output path cannot be written."""


class PlanError(UsageError):
    """A series plan that cannot be built as written; names the session and the field."""
