"""Every migration action is audited in the one audit log (exceptions owns it; migration sits above it)."""

from exceptions.services import audit

SYSTEM = "migration"


def record(action: str, ha, *, by: str, user=None, detail: dict | None = None) -> None:
    audit.record(
        user,
        action,
        system="" if user is not None and user.is_authenticated else SYSTEM,
        object_type="health_authority",
        object_id=ha.cipher,
        detail={"by": by, **(detail or {})},
    )
