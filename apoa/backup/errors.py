"""What can go wrong with a backup; each message tells the operator what happened and what to do.

Messages never hold the key, a password or anything read from the backup's content.
"""


class BackupError(Exception):
    """A backup could not be made or restored; nothing was written to the target."""


class NoKey(BackupError):
    """APOA_BACKUP_KEY is not set."""


class WrongKey(BackupError):
    """The file was encrypted with another key than the configured one."""


class DamagedBackup(BackupError):
    """The file fails its authentication or checksums: damaged in storage, or altered."""


class NotABackup(BackupError):
    """The file does not start like an APOA backup."""
