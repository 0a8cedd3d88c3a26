"""Who may see and set the retention period: the office (admin) only."""


def can_manage_retention(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "role", None) == "admin"
