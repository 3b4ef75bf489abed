"""Offices, their hierarchy and jurisdiction, and resolving the office for a point."""
import pytest

from apoa.errors import UserValueError
from apoa.regions.offices import create_office, office_for_point, set_jurisdiction

pytestmark = pytest.mark.usefixtures("english")

KARAWANG_POINT = (107.30, -6.30)


@pytest.fixture
def karawang(make):
    return make.office(code="KANIM-KRW", regions=["32.15"])


def test_the_office_of_a_point_is_the_one_holding_its_kabupaten(karawang):
    assert office_for_point(*KARAWANG_POINT) == karawang


def test_a_point_outside_every_jurisdiction_has_no_office(karawang):
    assert office_for_point(106.8271, -6.1754) is None


def test_a_point_at_sea_has_no_office(karawang):
    assert office_for_point(106.0, -7.5) is None


def test_a_kabupaten_cannot_belong_to_two_offices(make, karawang):
    other = make.office()
    with pytest.raises(UserValueError, match="already belongs to KANIM-KRW"):
        set_jurisdiction(other.code, ["32.15"])


def test_jurisdiction_is_made_of_kabupaten_kota(make):
    office = make.office()
    with pytest.raises(UserValueError, match="not a regency or city"):
        set_jurisdiction(office.code, ["32"])
    with pytest.raises(UserValueError, match="no region with the code"):
        set_jurisdiction(office.code, ["99.99"])


def test_setting_a_jurisdiction_replaces_the_old_one(make, karawang):
    set_jurisdiction(karawang.code, ["32.16", "32.17"])
    assert [r.kode for r in karawang.regions] == ["32.16", "32.17"]
    assert office_for_point(*KARAWANG_POINT) is None


@pytest.mark.parametrize("kind, parent_kind, message", [
    ("kantor", "ditjen", "must be of the kind"),
    ("kanwil", "kanwil", "must be of the kind"),
    ("kantor", None, "needs a parent office"),
])
def test_office_hierarchy_is_enforced(make, kind, parent_kind, message):
    parent = make.office(kind=parent_kind) if parent_kind else None
    with pytest.raises(UserValueError, match=message):
        create_office(f"NEW-{kind}", "Kantor Baru", kind, parent.code if parent else None)


def test_office_cli_creates_the_hierarchy_and_jurisdiction(runner):
    assert runner.invoke(args=["offices", "create", "--code", "DJ", "--name", "Ditjen", "--kind",
                               "ditjen"]).exit_code == 0
    assert runner.invoke(args=["offices", "create", "--code", "KW", "--name", "Kanwil", "--kind", "kanwil",
                               "--parent", "DJ"]).exit_code == 0
    assert runner.invoke(args=["offices", "create", "--code", "KI", "--name", "Kanim", "--kind", "kantor",
                               "--parent", "KW"]).exit_code == 0
    result = runner.invoke(args=["offices", "set-regions", "KI", "32.15"])
    assert result.exit_code == 0 and "KI covers 32.15" in result.output
    assert office_for_point(*KARAWANG_POINT).code == "KI"
    listing = runner.invoke(args=["offices", "list"]).output
    assert "KI\tkantor\tKW\tKanim\t32.15" in listing


def test_office_cli_refuses_bad_input_with_a_message(runner):
    result = runner.invoke(args=["offices", "create", "--code", "X", "--name", "X", "--kind", "kantor",
                                 "--parent", "NOPE"])
    assert result.exit_code == 1
    assert "no office with the code NOPE" in result.output
