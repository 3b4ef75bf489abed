"""The supervision map's pages (apoa/partners/supervision_map.py): `/tim-pora/peta` (the map and
the table), `/tim-pora/peta.pdf` (the same page, printable) and `/tim-pora/peta.geojson`, each for
`bulan=YYYY-MM` (a complete month; none: last month) and `office=<id>` (none: the user's own
office, or a partner member's team's).

Who may read which office's map is decided in apoa/auth/permissions.py
(`can_see_supervision_map`); anyone else gets 404. Every reading is audited
("partner.supervision_map": the office, the month and the format; no figures). A month that
cannot be understood answers 400: the page with the message beside the month chooser (and last
month's map), the PDF and the GeoJSON the app's error answer.
"""
import json

from flask import Blueprint, Response, current_app, render_template, request, url_for

from apoa.audit.services import record
from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, has_permission
from apoa.core.replica import reads_from_replica
from apoa.errors import UserValueError
from apoa.partners import supervision_map as sm
from apoa.summaries.dates import moment_text
from apoa.summaries.figures import offices_to_choose
from apoa.summaries.monthly import render_pdf

bp = Blueprint("supervision_map", __name__)
GEOJSON_MIMETYPE = "application/geo+json"


guard_staff_pages(bp)


@bp.get("/tim-pora/peta")
@reads_from_replica
def page():
    """The map of one layer (`layer=reports|guests|operations`) and the table of all three."""
    user = actor()
    office = sm.map_office(user, request.args.get("office"))
    error = None
    try:
        month = sm.parse_map_month(request.args.get("bulan"))
        layer = sm.parse_layer(request.args.get("layer"))
    except UserValueError as problem:
        error, month, layer = problem.message, sm.default_month(), sm.REPORTS
    smap = sm.supervision_map(office, month)
    _audit(smap, "html")
    return render_map(smap, layers=[layer], error=error), 400 if error else 200


@bp.get("/tim-pora/peta.pdf")
@reads_from_replica
def pdf():
    """The page with the map of every layer, as a PDF (WeasyPrint)."""
    smap = _load()
    document = render_pdf(render_map(smap, layers=sm.MEASURES, pdf=True), request.host_url,
                          current_app.static_url_path, current_app.static_folder)
    _audit(smap, "pdf")
    name = f"apoa-peta-pengawasan-{smap.month_value}.pdf"
    return Response(document, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.get("/tim-pora/peta.geojson")
@reads_from_replica
def geojson():
    smap = _load()
    body = json.dumps(sm.as_geojson(smap), ensure_ascii=False, separators=(",", ":"))
    _audit(smap, "geojson")
    name = f"apoa-peta-pengawasan-{smap.month_value}.geojson"
    return Response(body, mimetype=GEOJSON_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _load():
    office = sm.map_office(actor(), request.args.get("office"))
    return sm.supervision_map(office, sm.parse_map_month(request.args.get("bulan")))


def _audit(smap, fmt):
    record("partner.supervision_map", f"office:{smap.office.id}",
           {"office_id": smap.office.id, "month": smap.month_value, "format": fmt}, actor=actor())


def map_args(smap, **extra):
    """The query arguments that give this map back (for the links and the chooser)."""
    return {"bulan": smap.month_value, "office": smap.office.id, **extra}


def render_map(smap, layers, pdf=False, error=None):
    user = actor()
    # Heads and supervisors may switch between the offices of their jurisdiction; a partner
    # member has their team's office only.
    offices = (offices_to_choose(user) if has_permission(user, Permission.view_aggregates)
               else [])
    return render_template(
        "partners/supervision_map.html", smap=smap, maps={m: sm.map_svg(smap, m) for m in layers},
        layer=layers[0], pdf=pdf, error=error, months=sm.months_offered(), offices=offices,
        measures=sm.MEASURES, measure_titles=sm.MEASURE_TITLES, moment_text=moment_text,
        layer_urls={m: url_for(".page", **map_args(smap, layer=m)) for m in sm.MEASURES},
        pdf_url=url_for(".pdf", **map_args(smap)),
        geojson_url=url_for(".geojson", **map_args(smap)))
