"""The encrypted stream a backup is written in: it reads back what was written, in chunks of any
size, and refuses a wrong key, another file, and every way of altering it — a changed byte,
chunks swapped, dropped or cut off, bytes added at the end."""
import io

import pytest
from cryptography.fernet import Fernet

from apoa.backup.encryption import HEADER, LENGTH, DecryptingReader, EncryptingWriter, parse_key
from apoa.backup.errors import DamagedBackup, NotABackup, WrongKey
from apoa.config import ConfigError, build_config

KEY = parse_key(Fernet.generate_key().decode())
CHUNK = 64
# Neither a multiple of the chunk size nor small: several full chunks and a short last one.
PLAINTEXT = bytes(range(256)) * 3 + b"the end"


def encrypt(plaintext=PLAINTEXT, key=KEY, pieces=(7, 100, 1)):
    """Encrypted `plaintext`, written in pieces of uneven sizes as tar writes."""
    target = io.BytesIO()
    writer = EncryptingWriter(target, key, chunk_size=CHUNK)
    position, sizes = 0, iter(pieces * len(plaintext))
    while position < len(plaintext):
        size = next(sizes)
        writer.write(plaintext[position:position + size])
        position += size
    writer.finish()
    return target.getvalue()


def decrypt(data, key=KEY, piece=33):
    reader = DecryptingReader(io.BytesIO(data), key)
    out = bytearray()
    while chunk := reader.read(piece):
        out += chunk
    return bytes(out)


def chunks(data):
    """The header and the list of (length field + sealed chunk) of an encrypted stream."""
    header, rest, found = data[:HEADER.size], data[HEADER.size:], []
    while rest:
        length = LENGTH.unpack(rest[:LENGTH.size])[0] & 0x7FFF_FFFF
        found.append(rest[:LENGTH.size + length])
        rest = rest[LENGTH.size + length:]
    return header, found


@pytest.mark.parametrize("plaintext", [b"", b"x", b"y" * CHUNK, b"z" * (CHUNK + 1), PLAINTEXT])
def test_what_is_written_reads_back(plaintext):
    assert decrypt(encrypt(plaintext)) == plaintext
    assert DecryptingReader(io.BytesIO(encrypt(plaintext)), KEY).read() == plaintext


def test_two_files_of_the_same_content_look_unrelated():
    first, second = encrypt(), encrypt()
    assert first[HEADER.size:HEADER.size + 64] != second[HEADER.size:HEADER.size + 64]
    assert PLAINTEXT[:16] not in first


def test_another_key_is_named_as_such():
    other = parse_key(Fernet.generate_key().decode())
    with pytest.raises(WrongKey, match="encrypted with another key"):
        decrypt(encrypt(), key=other)


def test_another_file_is_not_taken_for_a_backup():
    with pytest.raises(NotABackup, match="not an APOA backup"):
        decrypt(b"PGDMP" + bytes(100))
    with pytest.raises(NotABackup, match="too short"):
        decrypt(b"APOA")


def swap_two_chunks(header, found):
    return header + found[1] + found[0] + b"".join(found[2:])


def drop_a_chunk(header, found):
    return header + found[0] + b"".join(found[2:])


def drop_the_last_chunk(header, found):
    return header + b"".join(found[:-1])


def repeat_a_chunk(header, found):
    return header + found[0] + b"".join(found)


def mark_a_middle_chunk_last(header, found):
    flagged = bytearray(found[1])
    flagged[0] |= 0x80
    return header + found[0] + bytes(flagged)


def change_the_chunk_size(header, found):
    return header[:-1] + bytes([header[-1] + 1]) + b"".join(found)


@pytest.mark.parametrize(("alter", "message"), [
    (swap_two_chunks, "chunk 1 fails its authentication check"),
    (drop_a_chunk, "chunk 2 fails its authentication check"),
    (drop_the_last_chunk, "the file ends early"),
    (repeat_a_chunk, "chunk 2 fails its authentication check"),
    (mark_a_middle_chunk_last, "chunk 2 fails its authentication check"),
    (change_the_chunk_size, "chunk 1 fails its authentication check"),
])
def test_chunks_cannot_be_moved_dropped_or_cut_off(alter, message):
    header, found = chunks(encrypt())
    assert len(found) > 3
    with pytest.raises(DamagedBackup, match=message):
        decrypt(alter(header, found))


def test_every_changed_byte_is_found():
    data = encrypt(PLAINTEXT[:200])
    for position in range(16, len(data)):  # the key id (bytes 8-15) is reported as another key
        altered = bytearray(data)
        altered[position] ^= 0x20
        with pytest.raises(DamagedBackup):
            decrypt(bytes(altered))


@pytest.mark.parametrize("key", ["", "not-a-key", "c2hvcnQ=", Fernet.generate_key().decode()[:-4]])
def test_a_malformed_backup_key_stops_the_start(key):
    environ = {"APOA_DATABASE_URL": "postgresql://localhost/apoa", "APOA_BACKUP_KEY": key}
    if not key:
        assert build_config(environ)["BACKUP_KEY"] is None
        return
    with pytest.raises(ConfigError, match="APOA_BACKUP_KEY must be a Fernet key") as raised:
        build_config(environ)
    assert key not in str(raised.value)
