"""How pipeline records look to people: words and NHS.UK tag colours, kept out of templates."""

from dataclasses import dataclass

from .models import InterchangeStatus

# The colours an NHS.UK tag can take (nhsuk-frontend 10: components/tag). None means the default tag.
TAG_COLOURS = frozenset({"white", "grey", "green", "aqua-green", "blue", "purple", "pink", "red", "orange", "yellow"})


@dataclass(frozen=True)
class Tag:
    """What an NHS.UK tag shows: its words and an optional colour modifier."""

    text: str
    colour: str | None = None

    def __post_init__(self) -> None:
        if self.colour is not None and self.colour not in TAG_COLOURS:
            raise ValueError(f"{self.colour!r} is not an NHS.UK tag colour")


# Grey: arrived or set aside. Blue: read and moving. Purple: handed on or bookkeeping.
# Red: could not be read. Yellow: waiting to go. Green: the partner confirmed it.
INTERCHANGE_STATUS_COLOURS: dict[str, str] = {
    InterchangeStatus.RECEIVED: "grey",
    InterchangeStatus.PARSED: "blue",
    InterchangeStatus.INVALID: "red",
    InterchangeStatus.DUPLICATE: "grey",
    InterchangeStatus.FORWARDED: "purple",
    InterchangeStatus.REPORT: "purple",
    InterchangeStatus.RECEP: "grey",
    InterchangeStatus.BUILT: "yellow",
    InterchangeStatus.SENT: "blue",
    InterchangeStatus.ACKNOWLEDGED: "green",
}


def interchange_status_tag(status: str) -> Tag:
    """The tag for an interchange status; an unknown code is shown as it is, in grey, rather than failing."""
    try:
        label = InterchangeStatus(status).label
    except ValueError:
        return Tag(str(status), "grey")
    return Tag(label, INTERCHANGE_STATUS_COLOURS.get(status, "grey"))
