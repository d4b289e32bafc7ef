"""The single exception type the codec lets escape.

Callers (the ingest pipeline, the CLI) only ever need one ``except`` clause: anything the codec
cannot read or write becomes a :class:`CodecError` whose message names the segment and the problem,
so it can be shown to staff or stored on an INVALID interchange as it is.
"""


class CodecError(ValueError):
    """Input that cannot be read as a GP Links interchange, or a value that cannot be written.

    ``segment`` is the 1-based position of the offending segment in the interchange when known.
    """

    def __init__(self, message: str, *, segment: int | None = None) -> None:
        self.segment = segment
        self.problem = message
        super().__init__(f"segment {segment}: {message}" if segment is not None else message)


# Tests switch this off so that a bug shows up as itself instead of as a CodecError.
SAFETY_NET = True


def unexpected(exc: Exception, doing: str, *, segment: int | None = None) -> CodecError:
    """The CodecError standing in for an exception the codec did not foresee.

    Keeps the promise that only CodecError leaves the codec, while saying what was going on.
    MemoryError is left alone: it says nothing about the input.
    """
    if not SAFETY_NET or isinstance(exc, MemoryError):
        raise exc
    return CodecError(f"{doing} ({type(exc).__name__}: {exc})", segment=segment)
