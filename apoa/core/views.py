"""Home page, language switch and the health check."""
import logging

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from apoa.extensions import db
from apoa.i18n import remember_locale

bp = Blueprint("core", __name__)
log = logging.getLogger("apoa.core")


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
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and target.isprintable():
        return target
    return url_for("core.home")


@bp.get("/healthz")
def healthz():
    database_ok = _probe("SELECT 1") is not None
    postgis = _probe("SELECT postgis_lib_version()") if database_ok else None
    if not database_ok:
        return jsonify(status="error", database="unreachable", postgis=None), 503
    if postgis is None:
        return jsonify(status="error", database="ok", postgis="missing"), 503
    return jsonify(status="ok", database="ok", postgis=postgis)


def _probe(sql):
    try:
        return db.session.execute(text(sql)).scalar_one()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("health check failed: %s", type(error).__name__)
        return None
