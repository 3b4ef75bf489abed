"""The encrypted file format of a backup: AES-256-GCM over fixed-size chunks, written and read as
a stream, so a dump of many gigabytes never has to fit in memory (one chunk, 1 MiB, at a time).

Layout (integers big-endian):

    header   MAGIC      8 bytes  b"APOABAK" and the format version, 1
             key id     8 bytes  HMAC-SHA256(key, b"apoa-backup key id"), first 8 bytes
             salt      16 bytes  random, new for every file
             chunk size 4 bytes  plaintext bytes in every chunk but the last
    chunks   length     4 bytes  the sealed chunk's length; the top bit set on the last chunk
             sealed     length   AES-256-GCM(file key, nonce, plaintext, associated data=header)

The key (APOA_BACKUP_KEY, a Fernet-style 32-byte url-safe base64 key) is never used directly:
each file gets its own key, HKDF-SHA256(key, salt, INFO). With a fresh key per file the nonce can
be a counter: the chunk's number in 11 bytes and a last-chunk flag in the 12th.

What this guarantees when a file is read back with the right key:
- every chunk is authenticated, and the header with it (associated data): a changed byte anywhere
  fails, header included;
- a chunk moved, repeated or left out fails (its number is in the nonce);
- a file cut short fails (no chunk carries the last-chunk flag, which is in the nonce too, so it
  cannot be forged), and so do bytes after the last chunk.
The key id lets a restore tell "made with another key" from "damaged"; a truncated HMAC says
nothing about the key itself.

Why not Fernet tokens per chunk: they are base64 (a third larger), and nothing ties one token to
its place or marks the last one, so chunks could be dropped, swapped or cut off unnoticed.
"""
import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from apoa.backup.errors import DamagedBackup, NotABackup, WrongKey

MAGIC = b"APOABAK\x01"
INFO = b"apoa-backup v1 aes-256-gcm"
KEY_ID_LABEL = b"apoa-backup key id"
CHUNK_SIZE = 1024 * 1024
HEADER = struct.Struct(">8s8s16sI")
LENGTH = struct.Struct(">I")
LAST_CHUNK = 0x8000_0000
TAG_SIZE = 16
# Refuse to read a header asking for absurd chunks (the header is only authenticated once the
# first chunk is opened, so its chunk size must not decide how much memory is taken before).
MAX_CHUNK_SIZE = 64 * 1024 * 1024


def parse_key(text):
    """The 32 bytes of a url-safe base64 key (as Fernet.generate_key() makes); ValueError if not."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError("not url-safe base64") from None
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return raw


def key_id(key):
    """A short public fingerprint of `key` (bytes), to recognise it without revealing it."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).digest()[:8]


def file_key(key, salt):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(key)


def nonce(number, last):
    return number.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only stream that encrypts into `target` (a binary file); call finish() at the end.

    Plaintext is buffered up to one chunk; a chunk is sealed once more data follows it, so the
    last chunk (flagged) is sealed by finish() and is never empty unless nothing was written.
    """

    def __init__(self, target, key, chunk_size=CHUNK_SIZE):
        salt = os.urandom(16)
        self.header = HEADER.pack(MAGIC, key_id(key), salt, chunk_size)
        self._target = target
        self._cipher = AESGCM(file_key(key, salt))
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._number = 0
        target.write(self.header)

    def write(self, data):
        self._buffer += data
        while len(self._buffer) > self._chunk_size:
            self._seal(bytes(self._buffer[:self._chunk_size]), last=False)
            del self._buffer[:self._chunk_size]
        return len(data)

    def finish(self):
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, plaintext, last):
        sealed = self._cipher.encrypt(nonce(self._number, last), plaintext, self.header)
        self._target.write(LENGTH.pack(len(sealed) | (LAST_CHUNK if last else 0)))
        self._target.write(sealed)
        self._number += 1


class DecryptingReader:
    """A read-only stream of the plaintext of `source`; every chunk is checked before any of its
    bytes is handed out. Raises NotABackup, WrongKey or DamagedBackup."""

    def __init__(self, source, key):
        self._source = source
        self.header = _read_exactly(source, HEADER.size, NotABackup(
            "the file is too short to be an APOA backup"))
        magic, found_id, salt, self._chunk_size = HEADER.unpack(self.header)
        _check_header(magic, found_id, key, self._chunk_size)
        self._cipher = AESGCM(file_key(key, salt))
        self._buffer = bytearray()
        self._number = 0
        self._finished = False

    def read(self, size=-1):
        while not self._finished and (size < 0 or len(self._buffer) < size):
            self._buffer += self._open_next_chunk()
        size = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _open_next_chunk(self):
        where = f"chunk {self._number + 1}"
        length_field = _read_exactly(self._source, LENGTH.size, DamagedBackup(
            f"the file ends early, before {where}: it was cut off or not copied completely"))
        (length,) = LENGTH.unpack(length_field)
        last, length = bool(length & LAST_CHUNK), length & ~LAST_CHUNK
        if length > self._chunk_size + TAG_SIZE:
            raise DamagedBackup(f"{where} has an impossible length: the file was damaged "
                                "or altered")
        sealed = _read_exactly(self._source, length, DamagedBackup(f"the file ends inside {where}"))
        try:
            plaintext = self._cipher.decrypt(nonce(self._number, last), sealed, self.header)
        except InvalidTag:
            raise DamagedBackup(f"{where} fails its authentication check: the file was damaged "
                                "or altered after it was written") from None
        self._number += 1
        if last:
            self._finished = True
            if self._source.read(1):
                raise DamagedBackup("there is data after the end of the backup: "
                                    "the file was altered")
        return plaintext


def _check_header(magic, found_id, key, chunk_size):
    if magic[:7] != MAGIC[:7]:
        raise NotABackup("the file is not an APOA backup")
    if magic != MAGIC:
        raise NotABackup(f"the backup has format version {magic[7]}; this version of APOA "
                         f"reads version {MAGIC[7]}")
    if not hmac.compare_digest(found_id, key_id(key)):
        raise WrongKey(f"the backup was encrypted with another key (key id {found_id.hex()}), "
                       f"not the configured APOA_BACKUP_KEY (key id {key_id(key).hex()})")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise DamagedBackup("the backup's header is damaged")


def _read_exactly(source, size, error):
    data = source.read(size)
    while len(data) < size:
        more = source.read(size - len(data))
        if not more:
            raise error
        data += more
    return data
