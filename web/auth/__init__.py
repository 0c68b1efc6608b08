"""Log-in, log-out, users and roles.

``bp``: the blueprint (``/login``, ``/logout``, ``/account/password``);
:func:`login_required` and :func:`roles_required` guard views; :class:`UserStore` keeps the
users; :data:`PAGE_ROLES` says which role may open which page."""

from .access import PAGE_ROLES, can
from .decorators import login_required, roles_required
from .users import ROLES, User, UserStore
from .views import bp

__all__ = ["bp", "login_required", "roles_required", "PAGE_ROLES", "can", "ROLES", "User",
           "UserStore"]
