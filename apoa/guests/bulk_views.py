"""The bulk upload pages of an organisation's members (blueprint `guest_uploads`): the upload form
with the template to download, the upload's page (a progress bar while a job works, then the
preview with every row's problems, then the result), its progress as JSON, and the confirmation.

Only members of the organisation (Permission.report_guests through can_for_organisation) see any
of it; everyone else gets 404, as for any object they may not see. An organisation the office has
not verified yet cannot upload (409, NotVerified). The page works without JavaScript (a
<noscript> refresh); with it, upload-progress.js polls the JSON and moves the bar.
"""
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from apoa.auth.guards import actor, never_store, require_sign_in
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.forms import BaseForm
from apoa.guests import bulk, uploads
from apoa.guests.models import GuestUpload, UploadState
from apoa.guests.operator_views import own_organisation

bp = Blueprint("guest_uploads", __name__)
bp.before_request(require_sign_in)
bp.after_request(never_store)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATES = {"csv": (bulk.template_csv, "text/csv; charset=utf-8"),
             "xlsx": (bulk.template_xlsx, XLSX_MIMETYPE)}
TEMPLATE_NAME = "templat-tamu-apoa"
# Seconds between two looks at a running upload, for the script and for the refresh without it.
REFRESH_SECONDS = 2
PAGES = {UploadState.checking.value: "guests/upload/progress.html",
         UploadState.committing.value: "guests/upload/progress.html",
         UploadState.checked.value: "guests/upload/preview.html",
         UploadState.done.value: "guests/upload/result.html",
         UploadState.failed.value: "guests/upload/failed.html"}


class UploadForm(BaseForm):
    file = FileField(_l("Guest list (CSV or XLSX, on the template)"))


class ConfirmForm(BaseForm):
    """Nothing but the CSRF token."""


def own_upload(upload_id):
    upload = db.session.get(GuestUpload, upload_id)
    if upload is None:
        abort(404)
    own_organisation(upload.organisation_id)
    return upload


@bp.route("/penginapan/<int:organisation_id>/unggah", methods=["GET", "POST"])
def new_upload(organisation_id):
    organisation = own_organisation(organisation_id)
    uploads.require_reporter(actor(), organisation)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            upload = uploads.start_upload(organisation, actor(), *_sent_file(form),
                                          datetime.now(timezone.utc))
        except UserValueError as error:
            form.file.errors = [str(error.message)]
        else:
            return redirect(url_for(".upload_page", upload_id=upload.id), 303)
    return render_template("guests/upload/new.html", form=form, organisation=organisation,
                           organisation_url=organisation_url(organisation),
                           columns=bulk.ALL_COLUMNS, max_rows=bulk.MAX_ROWS,
                           max_mb=bulk.max_megabytes()), 400 if form.errors else 200


def _sent_file(form):
    """(filename, bytes) of the sent file, read no further than the size limit allows."""
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", None):
        raise UserValueError(_("Choose the file to upload."))
    raw = storage.stream.read(bulk.MAX_FILE_BYTES + 1)
    if len(raw) > bulk.MAX_FILE_BYTES:
        raise UserValueError(bulk.too_large_message())
    return storage.filename, raw


@bp.get("/penginapan/unggah/templat.<fmt>")
def template_file(fmt):
    if fmt not in TEMPLATES:
        abort(404)
    make, mimetype = TEMPLATES[fmt]
    return Response(make(), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}.{fmt}"'})


@bp.get("/penginapan/unggah/<int:upload_id>")
def upload_page(upload_id):
    upload = own_upload(upload_id)
    return render_template(PAGES[upload.state], upload=upload, organisation=upload.organisation,
                           state_title=UploadState(upload.state).title,
                           headers=PROBLEM_HEADERS, refresh=REFRESH_SECONDS,
                           can_confirm=uploads.can_confirm(upload),
                           confirm_form=ConfirmForm(formdata=None),
                           organisation_url=organisation_url(upload.organisation))


@bp.get("/penginapan/unggah/<int:upload_id>/kemajuan")
def progress(upload_id):
    return jsonify(uploads.progress_of(own_upload(upload_id)))


@bp.post("/penginapan/unggah/<int:upload_id>/konfirmasi")
def confirm(upload_id):
    upload = own_upload(upload_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    uploads.confirm_upload(upload, actor())
    return redirect(url_for(".upload_page", upload_id=upload.id), 303)


# The column a problem belongs to, as the template names it.
PROBLEM_HEADERS = {column.key: column.header for column in bulk.ALL_COLUMNS}


def organisation_url(organisation):
    """The organisation's own page, with its guest list (apoa/guests/operator_views.py)."""
    return url_for("guest_operator.home", organisation_id=organisation.id)
