"""What every staff blueprint does around its views: send who is not signed in to the sign-in
page, and keep pages about reports out of every cache (browser and proxy alike); and `actor()`,
the signed-in user the views hand to services."""
from flask_login import current_user

from apoa.extensions import login_manager


def actor():
    """The signed-in User itself, not the `current_user` proxy: services store it on rows and
    audit entries, which takes the real object (SQLAlchemy does not accept a proxy)."""
    return current_user._get_current_object()


def require_sign_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def never_store(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


def guard_staff_pages(blueprint, sign_in=True):
    """Register the guards on `blueprint`; `sign_in=False` for blueprints that answer 404 to
    anyone not allowed, signed in or not."""
    if sign_in:
        blueprint.before_request(require_sign_in)
    blueprint.after_request(never_store)
