"""The WhatsApp simulator page on a phone, with the whole chain behind it as `make run` starts it:
the page posts to the webhook as Meta would, a real job worker runs the conversation and sends the
bot's replies to the local fake of the Graph API, and the page polls them back from the fake.

A resident says "halo", gets the menu, picks "check a report's status", sends the tracking code of
a report made in the browser database, and reads its status. Another starts a report and answers
the bot's location request and its request for photos from the page."""
import io
import time
import uuid

import pytest
from flask_babel import force_locale
from PIL import Image

from apoa.extensions import db
from apoa.reports.services import find_by_code, public_status
from apoa.reports.tracking import display

# The fixtures of the WhatsApp chain (a live server sending to the fake, its worker, a phone).
pytest_plugins = ["tests.browser.whatsapp_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

# Seconds for the bot's answer: worker → conversation → sending job → fake → the page's next poll.
ANSWER_SECONDS = 20
BOT = "#sim-chat .sim-bot"
MAX_STEPS_TO_THE_PLACE = 12


def small_jpeg(path):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (70, 120, 160)).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def fresh_number():
    """A number of its own per test and run: the fake and the conversations outlive one test."""
    return "62812" + str(uuid.uuid4().int)[:8]


def bot_messages(page):
    return page.locator(BOT)


def wait_for_bot_message(page, count):
    """Wait until the bot has said `count` messages on the page; return the last one."""
    # A locator, not wait_for_function: the page's Content-Security-Policy forbids eval.
    message = bot_messages(page).nth(count - 1)
    message.wait_for(state="attached", timeout=ANSWER_SECONDS * 1000)
    return message


def wait_for_bot_text(page, words, since):
    """Wait for a message of the bot after the first `since` that contains `words`."""
    deadline = time.monotonic() + ANSWER_SECONDS
    while time.monotonic() < deadline:
        texts = bot_messages(page).all_inner_texts()[since:]
        found = [text for text in texts if words in text]
        if found:
            return found[-1]
        page.wait_for_timeout(200)
    pytest.fail(f"the bot never said {words!r}; it said: {bot_messages(page).all_inner_texts()}")


def settled(page, quiet_seconds=1.5):
    """Wait until the bot has said nothing new for `quiet_seconds` (a reply of several messages
    may reach the page over two polls); return how many messages it has said."""
    count, quiet_since = bot_messages(page).count(), time.monotonic()
    deadline = quiet_since + ANSWER_SECONDS
    while time.monotonic() - quiet_since < quiet_seconds and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        now = bot_messages(page).count()
        if now != count:
            count, quiet_since = now, time.monotonic()
    return count


def status_title(app, code):
    """The public status of the report, in Indonesian, as /status shows it."""
    with app.app_context(), force_locale("id"):
        title = str(public_status(find_by_code(code)).status.title)
        db.session.remove()
    return title


def test_a_resident_asks_the_bot_for_a_report_s_status_on_the_simulator(whatsapp_phone, whatsapp_live, live_report):
    code = live_report()
    number = fresh_number()
    page = whatsapp_phone.page
    whatsapp_phone.goto(f"/dev/whatsapp?nomor={number}")
    assert page.is_visible("#sim-banner")
    assert page.get_attribute("#simulator", "data-number") == number
    assert not page.is_visible("#sim-fake-problem")

    page.fill("#sim-text", "halo")
    page.click("#sim-send")
    assert page.locator("#sim-chat .sim-me").last.inner_text().strip() == "halo"
    menu = wait_for_bot_message(page, 1)
    status_row = menu.locator("button.sim-choice[data-choice-id='menu:status']")
    assert status_row.is_enabled()

    status_row.click()
    asked = wait_for_bot_message(page, 2)
    assert asked.get_attribute("data-kind") == "text"
    assert status_row.is_enabled()  # a plain text question leaves the menu's rows as they were

    page.fill("#sim-text", display(code).lower().replace("-", " "))  # any spacing or case
    page.click("#sim-send")
    answer = wait_for_bot_text(page, display(code), since=2)
    assert status_title(whatsapp_live.app, code) in answer
    # The bot goes back to its menu, whose rows are now the ones to tap; the first menu's are not.
    assert wait_for_bot_message(page, 4).get_attribute("data-kind") == "list"
    assert not status_row.is_enabled()
    assert page.locator("#sim-status").inner_text().strip() == ""
    assert whatsapp_phone.horizontal_overflow() == 0, whatsapp_phone.too_wide()
    assert whatsapp_phone.problems() == []


def test_the_simulator_shares_a_location_when_the_bot_asks_for_one_then_a_photo(whatsapp_phone, tmp_path):
    number = fresh_number()
    page = whatsapp_phone.page
    whatsapp_phone.goto(f"/dev/whatsapp?nomor={number}")
    page.fill("#sim-text", "halo")
    page.click("#sim-send")
    menu = wait_for_bot_message(page, 1)
    menu.locator("button.sim-choice[data-choice-id='menu:report']").click()
    # The report flow asks its questions one by one (category, what was seen, how many, when,
    # the kind of place, then the place); it is still changing, so the test does not name them:
    # it taps the first choice offered, or types a description, until the bot asks for the place.
    share = page.locator("#sim-chat .sim-bot[data-kind=location_request] .sim-share-location").last
    for _step in range(MAX_STEPS_TO_THE_PLACE):
        count = settled(page)
        if share.count() and share.is_enabled():
            break
        last = bot_messages(page).last
        choices = last.locator("button.sim-choice:enabled")
        if choices.count():
            choices.first.click()
        else:
            page.fill("#sim-text", "Lima orang asing bekerja di proyek pabrik tanpa izin kerja.")
            page.click("#sim-send")
        wait_for_bot_message(page, count + 1)
    else:
        pytest.fail(f"the bot never asked for the place; it said: {bot_messages(page).all_inner_texts()}")
    share.click()
    assert "-6.30000, 107.30000" in page.locator("#sim-chat .sim-me").last.inner_text()
    wait_for_bot_message(page, count + 1)
    settled(page)
    # The location was taken: the bot moved on instead of asking for the place again.
    kinds = [message.get_attribute("data-kind") for message in bot_messages(page).all()[count:]]
    assert kinds and "location_request" not in kinds

    # A photo: uploaded to the fake, sent by its media id, fetched from the fake by the worker.
    count = settled(page)
    page.click("#sim-photo-box summary")
    page.set_input_files("#sim-photo", str(small_jpeg(tmp_path / "foto.jpg")))
    page.fill("#sim-caption", "di depan pabrik")
    page.click("#sim-send-photo")
    mine = page.locator("#sim-chat .sim-me").last
    assert mine.locator("img").count() == 1 and "di depan pabrik" in mine.inner_text()
    wait_for_bot_message(page, count + 1)
    assert "sim-failed" not in (mine.get_attribute("class") or "")
    assert page.input_value("#sim-caption") == ""
    assert whatsapp_phone.problems() == []
