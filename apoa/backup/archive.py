"""The archive inside a backup: a tar stream of named parts and their manifest.

Parts: `database.dump` (pg_dump's custom format), `uploads/<path>` for every file of the upload
folder, and `manifest.json` last, whose `parts` gives the sha256 and size of every other part.
Writing streams each part through tar and encryption in one pass, hashing it on the way; reading
decrypts the whole file into a private folder, hashing each part as it lands, and refuses
anything but the expected parts, and any part that does not match the manifest.
"""
import hashlib
import io
import json
import os
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from apoa.backup.encryption import DecryptingReader, EncryptingWriter
from apoa.backup.errors import BackupError, DamagedBackup

FORMAT = "apoa-backup"
FORMAT_VERSION = 1
DUMP = "database.dump"
MANIFEST = "manifest.json"
UPLOADS = "uploads"
COPY_BUFFER = 1024 * 1024


class Progress:
    """What a backup or restore tells whoever runs it; this one tells nobody (the CLI shows it)."""

    def step(self, message):
        pass

    def start(self, label, total):
        pass

    def advance(self, amount):
        pass

    def finish(self):
        pass


# --- writing ----------------------------------------------------------------------------------

def write_archive(output, key, sources, facts, progress):
    """Stream the parts through tar and encryption into `output`; the manifest goes last."""
    progress.start("writing the encrypted backup", sum(path.stat().st_size for _n, path in sources))
    with _new_file(output) as target:
        writer = EncryptingWriter(target, key)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            parts = {name: _add_file(tar, name, path, progress) for name, path in sources}
            manifest = {**facts, "parts": parts}
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        writer.finish()
    progress.finish()
    return manifest


@contextmanager
def _new_file(output):
    """An owner-only temporary file beside `output`, renamed to it once complete and synced: a
    failed or interrupted backup never leaves a partial file under the real name."""
    output.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.",
                                             suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as target:
            yield target
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _Hashing:
    """A file read through this updates a sha256 and the progress as it goes."""

    def __init__(self, file, progress):
        self._file = file
        self._progress = progress
        self.sha256 = hashlib.sha256()

    def read(self, size=-1):
        data = self._file.read(size)
        self.sha256.update(data)
        self._progress.advance(len(data))
        return data


def _add_file(tar, name, path, progress):
    with open(path, "rb") as file:
        status = os.fstat(file.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o600
        hashing = _Hashing(file, progress)
        tar.addfile(info, hashing)
    return {"sha256": hashing.sha256.hexdigest(), "bytes": info.size}


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


# --- reading ----------------------------------------------------------------------------------

def unpack(path, key, work, progress):
    """Decrypt `path` into `work` and check every part against the manifest; returns it."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    progress.start("decrypting and checking the backup", path.stat().st_size)
    with open(path, "rb") as raw:
        reader = DecryptingReader(_Counted(raw, progress), key)
        found = _extract(reader, work)
    progress.finish()
    manifest = _read_manifest(work, found)
    _check_parts(manifest, found)
    return manifest


class _Counted:
    """A file whose reads advance the progress."""

    def __init__(self, file, progress):
        self._file = file
        self._progress = progress

    def read(self, size=-1):
        data = self._file.read(size)
        self._progress.advance(len(data))
        return data


def _extract(reader, work):
    """Write each member of the decrypted tar under `work`; returns {name: {sha256, bytes}}."""
    found = {}
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                name = _member_name(member, found)
                found[name] = _extract_member(tar, member, work / name)
    except tarfile.TarError as error:
        raise DamagedBackup(f"the archive inside the backup is unreadable: {error}") from None
    # tar stops reading at its end marker: read on, so the last chunk and its flag are checked too.
    while reader.read(COPY_BUFFER):
        pass
    return found


def _member_name(member, found):
    """The member's name if it is a part a backup may hold, once; DamagedBackup otherwise."""
    name = member.name
    parts = PurePosixPath(name).parts
    allowed = name in (DUMP, MANIFEST) or (
        len(parts) >= 2 and parts[0] == UPLOADS and not PurePosixPath(name).is_absolute()
        and not any(part in ("", ".", "..") for part in parts))
    if not member.isfile() or not allowed or name in found:
        raise DamagedBackup(f"the backup holds an unexpected entry {name!r}")
    return name


def _extract_member(tar, member, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    sha256 = hashlib.sha256()
    with tar.extractfile(member) as source, open(target, "xb") as out:
        while data := source.read(COPY_BUFFER):
            sha256.update(data)
            out.write(data)
    os.utime(target, (member.mtime, member.mtime))
    return {"sha256": sha256.hexdigest(), "bytes": member.size}


def _read_manifest(work, found):
    if MANIFEST not in found:
        raise DamagedBackup("the backup has no manifest")
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except ValueError:
        raise DamagedBackup("the backup's manifest is unreadable") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise DamagedBackup(f"the backup's manifest is not of format {FORMAT} {FORMAT_VERSION}")
    return manifest


def _check_parts(manifest, found):
    """Every part listed is there with its sha256 and size, and nothing else is."""
    expected = manifest.get("parts") or {}
    problems = [f"{name} is missing" for name in sorted(set(expected) - set(found))]
    problems += [f"{name} is not in the manifest" for name in sorted(set(found) - set(expected))
                 if name != MANIFEST]
    problems += [f"{name} does not match its checksum" for name in sorted(expected)
                 if name in found and found[name] != expected[name]]
    if DUMP not in expected:
        problems.append(f"{DUMP} is not in the manifest")
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        shown = "; ".join(problems[:5]) + more
        raise DamagedBackup(f"the backup does not match its manifest: {shown}")
