"""How pipeline records look to people: words and NHS.UK tag colours, kept out of templates."""

from core.presenters import Tag

from .models import InterchangeStatus

# Grey: arrived or set aside. Blue: read and moving. Purple: handed on or bookkeeping.
# Red: could not be read, or the partner refused it. Yellow: waiting to go. Green: the partner confirmed it.
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
    # Orange: set aside for a person (not authenticated, not GP Links). Red: refused or unreadable.
    InterchangeStatus.HELD: "orange",
    InterchangeStatus.UNHANDLED: "orange",
    InterchangeStatus.QUARANTINED: "red",
    InterchangeStatus.NEGATIVE: "red",
}


def interchange_status_tag(status: str) -> Tag:
    """The tag for an interchange status; an unknown code is shown as it is, in grey, rather than failing."""
    try:
        label = InterchangeStatus(status).label
    except ValueError:
        return Tag(str(status), "grey")
    return Tag(label, INTERCHANGE_STATUS_COLOURS.get(status, "grey"))
