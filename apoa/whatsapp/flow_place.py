"""The place of a report on WhatsApp: a shared location pin, or (when sharing is not possible) a
typed address and the kecamatan it lies in, matched by name. A kecamatan gives a point inside it,
with an accuracy as large as the kecamatan itself: the officers see that the place is only known
roughly, and the address says the rest.
"""
from flask_babel import gettext as _

from apoa.regions.lookup import locate
from apoa.reports.forms import ReportForm
from apoa.whatsapp.flow_regions import KECAMATAN, point_in_kecamatan, region_steps
from apoa.whatsapp.flow_steps import (Next, Step, Wrong, choice, forget, length_rule, picked,
                                      remember, text_between)
from apoa.whatsapp.messages import AskLocation, Buttons, Text

FLOW = "report"
ADDRESS_MAX = length_rule(ReportForm.address)[1]
ADDRESS_MIN = 5
AFTER_PLACE = "photos"


def ask_place(turn):
    return [AskLocation(_("Where did you see them? Tap the button below and send your location, "
                          "or move the pin to the place.")),
            Buttons(_("Cannot share a location? Type the address instead."),
                    (choice("place:address", _("Type the address")),))]


def handle_place(turn):
    incoming = turn.incoming
    if incoming.kind == "location":
        return _shared_location(turn, incoming.longitude, incoming.latitude, incoming.place)
    if picked(turn, [choice("place:address", _("Type the address"))]):
        return Next("address")
    if incoming.kind == "text" and len(turn.text) >= ADDRESS_MIN:
        return _address(turn)
    raise Wrong(_("Send the location with the button, or type the address."))


def _shared_location(turn, lon, lat, place_name):
    location = locate(lon, lat)
    if location is None:
        raise Wrong(_("This place is outside Indonesia. Move the pin to where you saw them."))
    remember(turn.conversation, lon=lon, lat=lat, accuracy_m=None,
             address=(place_name or "")[:ADDRESS_MAX] or None,
             area=location.kecamatan.nama if location.kecamatan else location.kabupaten.nama)
    return Next(AFTER_PLACE)


def ask_address(turn):
    return [Text(_("Type the address, or a landmark near the place: street, village, "
                   "building."))]


def handle_address(turn):
    return _address(turn)


def _address(turn):
    remember(turn.conversation, address=text_between(turn, ADDRESS_MIN, ADDRESS_MAX))
    return Next("kecamatan")


def ask_kecamatan(turn):
    return [Text(_("In which kecamatan is it? Type its name, e.g. Telukjambe Timur."))]


def kecamatan_found(turn, region):
    point = point_in_kecamatan(region["id"])
    if point is None or locate(point[0], point[1]) is None:
        raise Wrong(_("We cannot place this kecamatan on the map. Please choose another one."))
    lon, lat, radius = point
    forget(turn.conversation, "offered")
    remember(turn.conversation, lon=lon, lat=lat, accuracy_m=round(radius), area=region["title"])
    return Next(AFTER_PLACE)


STEPS = {
    "place": Step(FLOW, ask_place, handle_place, accepts=("text", "choice", "location")),
    "address": Step(FLOW, ask_address, handle_address, free_text=True),
    **region_steps("kecamatan", FLOW, ask_kecamatan, KECAMATAN, kecamatan_found),
}
