"""What browser tests share besides fixtures: the seeded data they can rely on and small helpers."""
import time

# The live app lets a form be sent this many seconds after it was shown (APOA_MIN_FILL_SECONDS).
MIN_FILL_SECONDS = 1
# Seeded in the browser database: an office whose jurisdiction is Kabupaten Karawang.
KARAWANG = "32.15"
KARAWANG_OFFICE = "KANIM-KARAWANG"


def wait_until(started, seconds):
    """Sleep until `seconds` have passed since `started` (a time.monotonic() value)."""
    remaining = started + seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
