"""`flask keys rotate`: re-encrypt everything kept under APOA_CONTACT_KEYS with the first key.

One list of keys protects reporters' contact details, staff's TOTP secrets, foreign guests'
personal data, complaints' contacts and data-subject requests (apoa/reports/contact.py,
apoa/auth/totp.py, apoa/guests/rotation.py, apoa/core/sealed.py). To rotate:
put the new key first on every app server and worker, run this once, then drop the old key. It
is one transaction: if any value opens with no configured key, nothing is changed.
"""
import click
from flask.cli import AppGroup

from apoa.extensions import db

keys_cli = AppGroup("keys", help="The encryption keys of personal data (APOA_CONTACT_KEYS).")


@keys_cli.command("rotate")
def rotate_command():
    """Re-encrypt contacts, TOTP secrets, guests' data and requests with the first key."""
    from apoa.auth.totp import rotate_totp_secrets
    from apoa.core.sealed import rotate_other_sealed
    from apoa.guests.rotation import rotate_guest_data
    from apoa.reports.contact import rotate_contacts

    reports = rotate_contacts()
    staff = rotate_totp_secrets()
    guests = rotate_guest_data()
    other = rotate_other_sealed()
    db.session.commit()
    click.echo(f"re-encrypted with the first key: contacts of {reports} reports, "
               f"TOTP secrets of {staff} users, guest data {dict(guests)}, other {dict(other)}")
