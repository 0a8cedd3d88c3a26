"""Who may do what with accounts: the object checks shared by operations and pages."""
import sqlalchemy as sa

from backend.accounts.models import StaffUser

# Deputies and liaisons work from the mini-program too; admins and departments only on the web.
BINDABLE_ROLES = ("deputy", "liaison")


def can_bind(user: StaffUser) -> bool:
    return user.is_active and user.role in BINDABLE_ROLES


def bindable() -> sa.ColumnElement[bool]:
    """can_bind as SQL, for a query that checks it in the same statement."""
    return sa.and_(StaffUser.is_active, StaffUser.role.in_(BINDABLE_ROLES))
