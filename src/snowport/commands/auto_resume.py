"""AUTO_RESUME on first use of a service (spcs-reference 3.1): a request to a public endpoint (or a call of
a service function) finds the service suspended and its AUTO_RESUME on, and resumes it first.

Kept apart from commands/endpoints.py because it runs ALTER SERVICE RESUME's command (commands/services.py),
which itself imports what endpoints.py answers: one module each way, no import cycle.
"""

from __future__ import annotations

from snowport.catalog.store import CatalogObject
from snowport.commands import services
from snowport.commands.context import Ctx, Server
from snowport.errors import SnowflakeError
from snowport.security.sessions import Session

SYSTEM_USER = "SYSTEM"


def resume_for_use(core: Server, service: CatalogObject) -> bool:
    """Resume a suspended service whose AUTO_RESUME is on, through the same command ALTER SERVICE RESUME runs,
    acting as the system with the service's owner role (the caller need not hold OPERATE). True when the
    service is not suspended (any more); False when it stays suspended (AUTO_RESUME off, a job, or the
    resume was refused)."""
    if not service.props.get("suspended"):
        return True
    if not service.props.get("auto_resume", True) or service.props.get("is_job"):
        return False
    system = Session(id=0, user=SYSTEM_USER, role=service.owner)
    try:
        services.resume(Ctx(core, system), [service.database, service.schema, service.name], if_exists=True)
    except SnowflakeError:
        return False
    current = core.catalog.by_id(service.id)
    return current is not None and not current.props.get("suspended")
