"""Behind nginx (APOA_PROXY_HOPS=1) the report form's rate limit counts each resident's own
address; without a trusted proxy (the default, 0) X-Forwarded-For is ignored, so a forged header
cannot escape the limit.

A browser without a device cookie (as here) has the budget of its address: 10 accepted reports an
hour. Only accepted reports count (a refused form is free, tests/reports/test_rate_limits.py).
"""
import uuid

import pytest

from apoa import create_app
from apoa.extensions import limiter
from tests.conftest import app_environ
from tests.reports.helpers import form_data

PROXY = "127.0.0.1"  # nginx on the same machine: the address the app sees without ProxyFix
SUBMIT_LIMIT = 10


@pytest.fixture
def app_behind(app, database_url, tmp_path):
    """`app_behind(hops)`: the app with APOA_PROXY_HOPS=hops and rate limits counted afresh. The
    limiter is one object shared by every app in this process: it is bound back afterwards."""
    def app_behind(hops):
        config = {"WTF_CSRF_ENABLED": False,
                  "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"LIMITS-proxy-{uuid.uuid4().hex}"}}
        return create_app(config, environ=app_environ(database_url, APOA_INSTANCE_DIR=str(tmp_path),
                                                      APOA_PROXY_HOPS=str(hops)))
    yield app_behind
    limiter.init_app(app)


def post_form(client, forwarded_for):
    return client.post("/lapor", data=form_data(), headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": PROXY})


def test_behind_one_proxy_each_resident_has_their_own_limit(app_behind):
    client = app_behind(1).test_client()
    for forged in range(SUBMIT_LIMIT):
        # What a client puts in front of nginx's entry is not believed: only the last one counts.
        assert post_form(client, f"10.0.0.{forged}, 203.0.113.7").status_code == 303
    assert post_form(client, "203.0.113.7").status_code == 429
    assert post_form(client, "198.51.100.9").status_code == 303  # a neighbour behind the same proxy


def test_without_a_trusted_proxy_the_forwarded_address_is_ignored(app_behind):
    client = app_behind(0).test_client()
    for forged in range(SUBMIT_LIMIT):
        assert post_form(client, f"203.0.113.{forged}").status_code == 303
    assert post_form(client, "198.51.100.9").status_code == 429  # all came from one address

