"""Home page and language switch. (The health check, /healthz, is in apoa/jobs/health.py.)"""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from apoa.i18n import remember_locale

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    return render_template("core/home.html")


@bp.post("/bahasa")
def set_language():
    if not remember_locale(request.form.get("lang")):
        return render_template("core/home.html", error=_("Unknown language.")), 400
    return redirect(safe_next(request.form.get("next")))


def safe_next(target):
    """`target` if it is a path on this site, else the home page: an open redirect would let a
    phishing link borrow our address. Browsers read "//host" and "/\\host" as another site."""
    if (target and target.startswith("/") and not target.startswith(("//", "/\\"))
            and target.isprintable()):
        return target
    return url_for("core.home")
