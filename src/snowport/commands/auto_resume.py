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
    """Resume a suspended service (and its suspended pool) whose AUTO_RESUME is on, with the change
    `services.auto_resume` makes for service-function calls too, acting as the system with the service's owner
    role (the caller need not hold OPERATE). True when the service is not suspended (any more); False when it
    stays suspended (AUTO_RESUME off, a job, or the resume was refused)."""
    system = Session(id=0, user=SYSTEM_USER, role=service.owner)
    try:
        return services.auto_resume(Ctx(core, system), service)
    except SnowflakeError:
        return False
