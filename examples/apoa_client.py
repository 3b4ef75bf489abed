"""Submit a report to APOA through its JSON API and follow its status (Python 3.9+, stdlib only).

    .venv/bin/python examples/apoa_client.py http://127.0.0.1:5000
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000").rstrip("/") + "/api/v1"


def call(method, path_or_url, body=None, headers=None):
    """The decoded JSON answer; an error answer (problem+json) is printed and raised."""
    url = path_or_url if path_or_url.startswith("http") else BASE + path_or_url
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/json", "Accept-Language": "en",
        **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        problem = json.load(error)
        print(f"{problem['status']} {problem['title']}: {problem['detail']}", file=sys.stderr)
        for field, messages in problem.get("errors", {}).items():
            print(f"  {field}: {messages}", file=sys.stderr)
        raise


categories = call("GET", "/categories")
print("Categories:", ", ".join(f"{c['id']} {c['name']}" for c in categories))

wib = timezone(timedelta(hours=7))
report = {
    "category_id": categories[0]["id"],
    "description": "Five foreign nationals working at a construction site without permits.",
    "people_count": 5,
    "place_kind": "project_site",
    "observed_at": (datetime.now(wib) - timedelta(hours=1)).isoformat(timespec="seconds"),
    "latitude": -6.30, "longitude": 107.30,  # Kabupaten Karawang
    "address": "Jl. Industri",
    "consent": True,
    # "contact": {"name": "Budi", "phone": "081234567890"},  # leave out to report anonymously
    # "photos": [base64.b64encode(open("photo.jpg", "rb").read()).decode()],  # up to 3
}
# One key per report, kept with it: sending again after a lost connection answers with the same
# report instead of making a second one.
key = str(uuid.uuid4())
receipt = call("POST", "/reports", report, headers={"Idempotency-Key": key})
again = call("POST", "/reports", report, headers={"Idempotency-Key": key})
assert again == receipt
print("Tracking code:", receipt["tracking_code"], "- receipt:", receipt["receipt_url"])

for _ in range(3):
    status = call("GET", receipt["status_url"])
    print(f"{status['status']['title']} (last update {status['updated_at']}, "
          f"{status['follow_ups']} follow-ups)")
    time.sleep(1)

call("POST", f"/reports/{receipt['tracking_code']}/follow-ups",
     {"note": "They were there again this morning, now with a lorry."})
print("Follow-up sent; follow-ups now:", call("GET", receipt["status_url"])["follow_ups"])
