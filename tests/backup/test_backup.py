"""`flask backup create` and `flask backup restore`, end to end on real databases: a backup of
committed reports with photos, restored into another empty database and upload folder, holds the
same rows, the same audit chain and the same photo bytes; a wrong key, a damaged or altered file,
a database that is not empty or a missing key fail with a clear message and write nothing."""
import io
import json
import os
import tarfile

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from apoa.backup.encryption import DecryptingReader, EncryptingWriter, parse_key
from apoa.extensions import db
from tests.backup.conftest import (DESCRIPTIONS, KEY, SOURCE_PASSWORD, admin_engine, app_on, contents,
                                   files_under)
from tests.conftest import drop_database

pytestmark = pytest.mark.no_db_transaction


def restore(site, backup_path):
    return site.cli("backup", "restore", str(backup_path))


def assert_untouched(site):
    """Nothing of the backup reached the target: no tables, no uploaded files."""
    assert contents(site.url).tables == {}
    assert files_under(site.uploads) == []


def unpack(path, key=KEY):
    """{name: bytes} of the archive inside an encrypted backup, read as an outsider would."""
    with open(path, "rb") as raw:
        with tarfile.open(fileobj=DecryptingReader(raw, parse_key(key)), mode="r|") as tar:
            return {member.name: tar.extractfile(member).read() for member in tar}


def repack(members, path, key=KEY):
    """Encrypt {name: bytes} into a backup file, as someone holding the key could."""
    with open(path, "wb") as raw:
        writer = EncryptingWriter(raw, parse_key(key))
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        writer.finish()


# --- the round trip ------------------------------------------------------------------------------

def test_a_restored_backup_holds_the_same_rows_audit_chain_and_photos(source, backup, target):
    site = target()
    result = restore(site, backup.path)
    assert result.exit_code == 0, result.output
    assert "row counts match the manifest in all" in result.output
    assert "audit head matches the manifest" in result.output

    restored = contents(site.url)
    assert backup.tables["report"] == 3 and backup.tables["attachment"] == 3
    # The restore adds one entry to the restored chain, saying where the data came from.
    assert restored.tables == {**backup.tables, "audit_log": backup.tables["audit_log"] + 1}
    with create_engine(site.url).connect() as connection:
        at_backup = connection.execute(text("SELECT seq, hash FROM audit_log WHERE seq = :seq"),
                                       {"seq": backup.audit_head[0]}).first()
        newest = connection.execute(text("SELECT action, prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    assert tuple(at_backup) == backup.audit_head
    assert tuple(newest) == ("backup.restore", backup.audit_head[1])
    assert site.cli("audit", "verify").exit_code == 0

    assert sorted(restored.photos) == files_under(site.uploads) == files_under(source.uploads)
    for stored_path, sha256 in restored.photos.items():
        photo = site.uploads / stored_path
        assert photo.read_bytes() == (source.uploads / stored_path).read_bytes()
        assert photo.stat().st_mode & 0o777 == 0o600


def test_the_manifest_describes_the_dump_and_holds_no_secret(backup, source):
    members = unpack(backup.path)
    manifest = json.loads(members["manifest.json"])
    assert manifest["row_counts"] == {f"public.{name}": rows for name, rows in backup.tables.items()}
    assert (manifest["audit_head"]["seq"], manifest["audit_head"]["hash"]) == backup.audit_head
    assert manifest["alembic_revision"] and manifest["app_version"] and manifest["created_at"]
    uploads = {name for name in members if name.startswith("uploads/")}
    assert uploads == {f"uploads/{path}" for path in contents(source.url).photos}
    assert set(manifest["parts"]) == uploads | {"database.dump"}
    for name in uploads:
        assert members[name] == (source.uploads / name.removeprefix("uploads/")).read_bytes()
    for secret in (KEY, SOURCE_PASSWORD):
        assert secret not in members["manifest.json"].decode()
        assert secret not in backup.output


def test_the_backup_file_shows_nothing_of_what_it_holds(backup, source):
    raw = backup.path.read_bytes()
    a_photo = next(p for p in source.uploads.rglob("*.jpg")).read_bytes()
    for plain in (*(d.encode() for d in DESCRIPTIONS), b"petugas@jakpus.example", b"manifest.json",
                  b"database.dump", a_photo[:64], a_photo[-64:]):
        assert plain not in raw
    assert backup.path.stat().st_mode & 0o777 == 0o600


def test_pg_dump_gets_the_password_through_its_environment_not_its_command_line(backup):
    assert any(os.path.basename(arguments[0]) == "pg_dump" for arguments, _env in backup.tool_calls)
    for arguments, environment in backup.tool_calls:
        assert SOURCE_PASSWORD not in " ".join(arguments)
        assert environment["PGPASSWORD"] == SOURCE_PASSWORD


def test_a_database_owner_restores_where_a_superuser_created_postgis(backup, backup_databases, target):
    """The production path: the database and its PostGIS made by a superuser, the restore run by
    the application's owner role, which then owns what was restored."""
    role, password = f"apoa_backup_owner_{os.getpid()}", os.urandom(12).hex()
    url = backup_databases("owned")
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN PASSWORD \'{password}\''))
        connection.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO "{role}"'))
    superuser = create_engine(url)
    with superuser.begin() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    superuser.dispose()
    try:
        result = restore(target(url=url.set(username=role, password=password)), backup.path)
        assert result.exit_code == 0, result.output
        with create_engine(url).connect() as connection:
            owner = connection.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'report'"))
        assert owner == role
        assert contents(url).tables["report"] == 3
    finally:
        drop_database(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


# --- refusals ------------------------------------------------------------------------------------

def test_a_wrong_key_fails_clearly_and_writes_nothing(backup, target):
    site = target(key=Fernet.generate_key().decode())
    result = restore(site, backup.path)
    assert result.exit_code == 1
    assert "encrypted with another key" in result.output
    assert_untouched(site)


def flip_middle_byte(data):
    data[len(data) // 2] ^= 0x01


def flip_salt_byte(data):
    data[20] ^= 0x01  # inside the header's salt: the header is authenticated with every chunk


def cut_end(data):
    del data[-10:]


def append_byte(data):
    data.append(0)


@pytest.mark.parametrize(("damage", "message"), [
    (flip_middle_byte, "fails its authentication check"),
    (flip_salt_byte, "fails its authentication check"),
    (cut_end, "the file ends inside chunk 1"),
    (append_byte, "there is data after the end of the backup"),
])
def test_a_damaged_or_altered_file_fails_clearly_and_writes_nothing(backup, target, tmp_path, damage, message):
    data = bytearray(backup.path.read_bytes())
    damage(data)
    altered = tmp_path / "altered.backup"
    altered.write_bytes(bytes(data))
    site = target()
    result = restore(site, altered)
    assert result.exit_code == 1
    assert message in result.output
    assert_untouched(site)


def test_a_part_that_does_not_match_the_manifest_is_refused(backup, target, tmp_path):
    """Even re-encrypted with the right key, a changed part fails its checksum."""
    members = unpack(backup.path)
    swapped = next(name for name in members if name.startswith("uploads/"))
    members[swapped] = members[swapped][:-1] + b"\x00"
    altered = tmp_path / "altered.backup"
    repack(members, altered)
    site = target()
    result = restore(site, altered)
    assert result.exit_code == 1
    assert f"{swapped} does not match its checksum" in result.output
    assert_untouched(site)


def test_a_database_with_tables_is_refused(backup, target):
    site = target()
    engine = create_engine(site.url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id integer)"))
    engine.dispose()
    result = restore(site, backup.path)
    assert result.exit_code == 1
    assert "is not empty (it has public.notes)" in result.output
    assert contents(site.url).tables == {"notes": 0}
    assert files_under(site.uploads) == []


def test_different_files_under_the_photos_names_are_not_overwritten(backup, source, target):
    site = target()
    name = files_under(source.uploads)[0]
    (site.uploads / name).parent.mkdir(parents=True)
    (site.uploads / name).write_bytes(b"another file")
    result = restore(site, backup.path)
    assert result.exit_code == 1
    assert "differ from the backup's" in result.output
    assert contents(site.url).tables == {}
    assert files_under(site.uploads) == [name] and (site.uploads / name).read_bytes() == b"another file"


def test_without_a_key_both_commands_refuse_with_a_clear_message(source, backup, target, tmp_path):
    keyless = app_on(source.url, tmp_path / "keyless", key=None)
    output = tmp_path / "never.backup"
    try:
        made = keyless.test_cli_runner().invoke(args=["backup", "create", "--output", str(output)])
    finally:
        with keyless.app_context():
            db.engine.dispose()
    site = target(key=None)
    restored = restore(site, backup.path)
    for result in (made, restored):
        assert result.exit_code == 1
        assert "APOA_BACKUP_KEY is not set: backups are always encrypted" in result.output
    assert not output.exists() and list(tmp_path.glob("*.partial")) == []
    assert_untouched(site)


def test_an_existing_file_is_never_overwritten(source, tmp_path):
    existing = tmp_path / "apoa.backup"
    existing.write_bytes(b"last week's backup")
    result = source.cli("backup", "create", "--output", str(existing))
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert existing.read_bytes() == b"last week's backup"
