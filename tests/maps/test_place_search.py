"""Place search (/tempat?q=…): kecamatan, kabupaten/kota and province names despite typos, for the
search box that moves a map. Public, JSON, and a clear 400 for text it cannot search."""
import pytest
from sqlalchemy import text

from apoa.extensions import db


def search(client, query):
    answer = client.get("/tempat", query_string={"q": query})
    assert answer.status_code == 200, answer.text
    return answer.get_json()["places"]


def names(places):
    return [place["name"] for place in places]


def test_a_typo_still_finds_kabupaten_karawang_first(client):
    places = search(client, "karawnag")
    karawang = places[0]
    assert karawang["name"] == "Kabupaten Karawang"
    assert karawang["level"] == "kabupaten_kota" and karawang["kode"] == "32.15"
    assert karawang["parents"] == ["Jawa Barat"]
    west, south, east, north = karawang["bbox"]
    assert 106.9 < west < 107.3 < east < 107.7 and -6.6 < south < -6.3 < north < -5.8


def test_a_kecamatan_comes_with_its_kabupaten_and_province(client):
    nama = db.session.execute(text(
        "SELECT nama FROM region WHERE parent_kode = '32.15' AND nama = 'Telagasari'")).scalar_one()
    for query in (nama, "telagsari", "TELAGASARI "):
        found = {place["name"]: place for place in search(client, query)}
        assert found[nama]["level"] == "kecamatan", query
        assert found[nama]["parents"] == ["Kabupaten Karawang", "Jawa Barat"]


def test_a_province_comes_before_regions_named_after_it(client, english):
    places = search(client, "jawa barat")
    assert places[0]["name"] == "Jawa Barat" and places[0]["level"] == "provinsi"
    assert places[0]["parents"] == [] and places[0]["level_title"] == "Province"


def test_equally_good_matches_list_kabupaten_before_kecamatan(client):
    levels = [place["level"] for place in search(client, "karawang")]
    assert levels.index("kabupaten_kota") < levels.index("kecamatan")


def test_nothing_like_the_text_finds_nothing(client):
    assert search(client, "qqxxzz") == []


def test_results_are_few_and_public(client):
    answer = client.get("/tempat", query_string={"q": "barat"})
    assert 1 <= len(answer.get_json()["places"]) <= 8
    assert "public" in answer.headers["Cache-Control"]


@pytest.mark.parametrize("query, message", [
    ("", "Type at least 2 letters of a place name."),
    ("   ", "Type at least 2 letters of a place name."),
    ("k", "Type at least 2 letters of a place name."),
    ("karawang" * 50, "A place name has at most 100 characters."),
    ("kara\x00wang", "The search may contain only letters, digits, spaces and punctuation."),
    ("kara\nwang", "The search may contain only letters, digits, spaces and punctuation."),
])
def test_text_that_cannot_be_searched_gets_a_clear_400(client, english, query, message):
    answer = client.get("/tempat", query_string={"q": query})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"] == message


def test_a_missing_query_gets_a_400_too(client, english):
    answer = client.get("/tempat")
    assert answer.status_code == 400 and "at least 2 letters" in answer.get_json()["error"]["message"]


def test_a_huge_query_string_is_refused_without_searching(client, english):
    answer = client.get("/tempat?q=" + "a" * 100_000)
    assert answer.status_code == 400 and "at most 100" in answer.get_json()["error"]["message"]
