"""Job functions for the tests: the worker imports them by their dotted path, as it imports the
product's jobs."""
import time
from pathlib import Path

from apoa.regions.offices import create_office


def add_office(code):
    """Writes a row: an office (a Ditjen, which needs no parent) with this code."""
    create_office(code, f"Kantor uji {code}", "ditjen")


def add_office_then_fail(code):
    """Writes a row, then fails: the runner must roll the row back."""
    create_office(code, f"Kantor uji {code}", "ditjen")
    raise RuntimeError("gagal setelah menulis")


def fail_while(cause, attempts, report_id, token):
    """Notes the time of each attempt in `attempts`, and fails while the file `cause` exists, with
    an error naming a contact detail (which the admin page must not show)."""
    with open(attempts, "a") as file:
        file.write(f"{time.time()}\n")
    if Path(cause).exists():
        raise RuntimeError(f"SMTP menolak warga.{token}@contoh.id untuk laporan {report_id}")
    return report_id
