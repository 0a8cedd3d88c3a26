"""Who may do what with accounts: the object checks shared by operations and pages."""
from backend.accounts.models import StaffUser

# Deputies and liaisons work from the mini-program too; admins and departments only on the web.
BINDABLE_ROLES = ("deputy", "liaison")


def can_bind(user: StaffUser) -> bool:
    return user.is_active and user.role in BINDABLE_ROLES
