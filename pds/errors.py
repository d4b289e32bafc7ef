"""The errors PDS raises on purpose, wherever PDS lives (this database or a remote FHIR endpoint).

Processing tells them apart by type: `Transient` ones are worth retrying later (the service was busy,
slow or down); the others are answers about the patient or the request and retrying will not help.
"""


class PdsError(Exception):
    """Base of the errors PDS services and gateways raise on purpose."""


class PatientNotFound(PdsError):
    pass


class InvalidNhsNumber(PdsError):
    """Not ten digits with a correct modulus 11 check digit."""


class VersionConflict(PdsError):
    """The caller's version is not the record's current one: it must re-read and decide again."""


class ForbiddenUpdate(PdsError):
    """A change PDS refuses on principle, e.g. replacing a formal death or merging a record into itself."""


class InvalidChange(PdsError):
    """A change that breaks a rule of the record, e.g. removing the usual name or a birth date in the future."""


class AccessDenied(PdsError):
    """The caller's credentials are missing, wrong, or lack the permission (remote gateway)."""


class UpdateNeedsAPerson(AccessDenied):
    """PCRM reaches the remote PDS with application-restricted access, under which PDS allows no
    updates: the change is not sent, and processing hands it to a person as a case (docs/pds.md)."""


class InvalidSearch(PdsError):
    """PDS refused a search as asked (a combination it does not allow, a missing birth date...)."""


class TooManyMatches(PdsError):
    """PDS's TOO_MANY_MATCHES, raised inside the client only (search returns it as an answer)."""

    outcome: dict = {}


class Transient(PdsError):
    """PDS could not answer now (busy, unavailable, timed out): the same request may succeed later."""


class RateLimited(Transient):
    pass


class Unavailable(Transient):
    pass


class BadResponse(PdsError):
    """The remote endpoint answered with something that is not the PDS contract."""
