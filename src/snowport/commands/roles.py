"""Roles: CREATE / ALTER / DROP / SHOW ROLES."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import grants, lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, owner_role_type, yn
from snowport.commands.context import Ctx
from snowport.commands.kinds import ROLE
from snowport.commands.lifecycle import Name
from snowport.security.privileges import SYSTEM_ROLES


def create(ctx: Ctx, name: str, values: dict[str, Any] | None = None, or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = Name(name)
    replacing = or_replace and ctx.catalog.get("ROLE", name) is not None

    def build() -> CatalogObject:
        return properties.apply(lifecycle.new_object(ctx, ROLE, target), values or {}, "ROLE", ("COMMENT",))

    def hand_over_replaced(_tx: Transaction, role: CatalogObject) -> None:
        if replacing:  # the replaced role is dropped: what it owned passes to the replacing role, as on DROP
            _hand_over(ctx, name, keep=role.id)

    return lifecycle.create(ctx, ROLE, target, build, or_replace=or_replace, if_not_exists=if_not_exists,
                            after=hand_over_replaced)[1]


def _hand_over(ctx: Ctx, role_name: str, keep: int = 0) -> None:
    """Objects a dropped role owned pass to the role that dropped it; its future grants end."""
    for obj in list(ctx.catalog.all_objects()):
        if obj.owner == role_name and obj.id != keep:
            ctx.catalog.update(obj.evolve(owner=ctx.role))
    grants.retarget_future_grants(ctx, role_name, None)


def _not_system(role: CatalogObject) -> None:
    if role.name in SYSTEM_ROLES:
        raise errors.SnowflakeError(3001, "42501", f"SQL access control error:\nCannot drop system role '{role.name}'.")


def drop(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    def hand_over(_tx: Transaction, role: CatalogObject) -> None:
        _hand_over(ctx, role.name)

    return lifecycle.drop(ctx, ROLE, Name(name), if_exists, after=hand_over, guard=_not_system)


def set_properties(ctx: Ctx, name: str, values: dict[str, Any], if_exists: bool = False) -> str:
    lifecycle.alter(ctx, ROLE, Name(name), "ALTER ROLE",
                    lambda r: properties.apply(r, values, "ROLE", ("COMMENT",)), if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str, keys: list[str], if_exists: bool = False) -> str:
    lifecycle.alter(ctx, ROLE, Name(name), "ALTER ROLE",
                    lambda r: properties.unset(r, keys, "ROLE", ("COMMENT",)), if_exists)
    return lifecycle.SUCCESS


def rename(ctx: Ctx, name: str, new_name: str, if_exists: bool = False) -> str:
    if name in SYSTEM_ROLES:
        raise errors.SnowflakeError(3001, "42501", f"SQL access control error:\nCannot rename system role '{name}'.")

    def follow(tx: Transaction, _old: CatalogObject, _new: CatalogObject) -> None:
        grants.retarget_future_grants(ctx, name, new_name)

        def update_sessions() -> None:
            for s in ctx.core.sessions.all():
                if s.role == name:
                    s.role = new_name
        tx.after_commit(update_sessions)

    return lifecycle.rename(ctx, ROLE, Name(name), Name(new_name), if_exists, after=follow)


@dataclass(frozen=True)
class RoleRow:
    role: CatalogObject
    is_default: bool
    is_current: bool
    is_inherited: bool
    assigned_to_users: int
    granted_to_roles: int
    granted_roles: int


SHOW_COLUMNS = columns(
    created_on(lambda r: r.role),
    Col("name", value=lambda r: r.role.name),
    Col("is_default", value=lambda r: yn(r.is_default)),
    Col("is_current", value=lambda r: yn(r.is_current)),
    Col("is_inherited", value=lambda r: yn(r.is_inherited)),
    Col("assigned_to_users", "fixed", lambda r: r.assigned_to_users),
    Col("granted_to_roles", "fixed", lambda r: r.granted_to_roles),
    Col("granted_roles", "fixed", lambda r: r.granted_roles),
    Col("owner", value=lambda r: r.role.owner),
    Col("comment", value=lambda r: r.role.comment),
    Col("owner_role_type", value=lambda r: owner_role_type(r.role)),
)


def show(ctx: Ctx, like: str | None = None) -> Rows:
    match = like_matcher(like)
    user = ctx.catalog.get("USER", ctx.session.user)
    default_role = None if user is None else user.props.get("default_role")
    active = ctx.auth.active_roles(ctx.session)
    items = []
    for r in ctx.catalog.list("ROLE"):
        if not match(r.name):
            continue
        on_role = ctx.catalog.grants(object_id=r.id, privilege="USAGE")
        granted = [g for g in ctx.catalog.grants(grantee_kind="ROLE", grantee=r.name, privilege="USAGE")
                   if (o := ctx.catalog.by_id(g.object_id)) is not None and o.kind == "ROLE"]
        items.append(RoleRow(r, r.name == default_role, r.name == ctx.session.role,
                             r.name in active and r.name != ctx.session.role,
                             sum(1 for g in on_role if g.grantee_kind == "USER"),
                             sum(1 for g in on_role if g.grantee_kind == "ROLE"), len(granted)))
    return Rows(SHOW_COLUMNS, items)
