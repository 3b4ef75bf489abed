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


def sign_in(phone, staff, path="/laporan", via_redirect=True):
    """Sign `staff` in as a person would and end on `path`: open it and be sent to the sign-in
    (or, for pages that answer 404 to strangers, open the sign-in with `next`), give email and
    password, then the code the authenticator shows now."""
    page = phone.page
    if via_redirect:
        phone.goto(path)
        page.wait_for_url("**/masuk?next=*")
    else:
        phone.goto(f"/masuk?next={path}")
    give_credentials(phone, staff)
    assert page.url.endswith(path), (page.url, page.inner_text("main"))


def give_credentials(phone, staff):
    """On the sign-in page: email and password, then the code the authenticator shows now; ends
    signed in, wherever the app sends `staff`."""
    page = phone.page
    page.fill("#email", staff.email)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/masuk/kode")
    page.fill("#code", staff.code())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.inner_text("header .who").strip() == staff.name
