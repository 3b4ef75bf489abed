"""Open311 api_keys of partners: issued by an admin, shown once, stored only as a sha256, revoked
by an admin, found again by the hash of what a partner sends.

An application key (PartnerKind.app) may only submit requests; an agency key (PartnerKind.agency)
belongs to one office and may also read, coarsely, the requests of that office's jurisdiction.
Issuing and revoking are audited; each use is audited too, by key id and kind only (never the
secret), and stamps `last_used_at`.
"""
import hashlib
import logging
import secrets
from datetime import datetime, timezone

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from apoa.api.models import PartnerKey, PartnerKind
from apoa.audit.services import record
from apoa.errors import UserValueError
from apoa.extensions import db

log = logging.getLogger("apoa.api")

SECRET_PREFIX = "o311_"
PREFIX_LENGTH = 12  # "o311_" and seven random characters: enough to tell keys apart on a list
# A key is 5 + 43 characters; anything much longer is not one of ours and is not hashed.
MAX_KEY_LENGTH = 100


def secret_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(name, kind, office, admin):
    """A new partner key: (row, secret). The secret is returned this once and never stored.

    `office` is required for an agency key and refused for an application key (an application
    reads nothing, so it belongs to no office)."""
    kind = PartnerKind(kind)
    name = " ".join((name or "").split())
    if not name:
        raise UserValueError(_("Enter the partner's name."))
    if (kind is PartnerKind.agency) != (office is not None):
        raise UserValueError(_("A partner agency's key belongs to an office; "
                               "an application's key to none."))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = PartnerKey(name=name[:200], kind=kind.value, office_id=office.id if office else None,
                     secret_hash=secret_hash(secret), prefix=secret[:PREFIX_LENGTH],
                     created_by_id=admin.id if admin else None)
    db.session.add(key)
    db.session.flush()
    record("partner_key.issue", f"partner_key:{key.id}",
           {"kind": key.kind, "office_id": key.office_id}, actor=admin)
    log.info("partner key %s (%s) issued by user %s", key.id, key.kind,
             admin.id if admin else None)
    return key, secret


def revoke_key(key, admin):
    """Revoke `key` now; returns False if it already was (nothing changes then)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = datetime.now(timezone.utc)
    db.session.flush()
    record("partner_key.revoke", f"partner_key:{key.id}", {"kind": key.kind}, actor=admin)
    log.info("partner key %s revoked by user %s", key.id, admin.id if admin else None)
    return True


def authenticate(api_key):
    """The non-revoked PartnerKey whose secret is `api_key`, or None. Never logs the value."""
    if not isinstance(api_key, str) or not api_key.startswith(SECRET_PREFIX) \
            or len(api_key) > MAX_KEY_LENGTH:
        return None
    key = db.session.scalar(select(PartnerKey).where(PartnerKey.secret_hash == secret_hash(api_key))
                            .options(selectinload(PartnerKey.office)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def record_use(key, action, object=None, detail=None):
    """Stamp the key's last use and audit what it was used for (`action`: "submit", "read");
    `detail` adds counts, never content."""
    key.last_used_at = datetime.now(timezone.utc)
    db.session.flush()
    record(f"partner_key.{action}", object or f"partner_key:{key.id}",
           {"partner_key": key.id, "kind": key.kind, **(detail or {})})


def partner_keys():
    """Every key, newest first, with its office (for the admin list)."""
    return db.session.scalars(select(PartnerKey).options(selectinload(PartnerKey.office))
                              .order_by(PartnerKey.created_at.desc(), PartnerKey.id.desc())).all()


def partner_key(key_id):
    return db.session.get(PartnerKey, key_id)
