"""The channel layer of permissions: who may reach a staff page at all."""
from functools import wraps

from flask_login import current_user, login_required

from backend.core.errors import Forbidden


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)
        return wrapped
    return decorator
