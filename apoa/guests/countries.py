"""Nationality and issuing-state codes as printed in passports (ICAO Doc 9303 Part 3).

Passports print ISO 3166-1 alpha-3 codes, plus a few of ICAO's own: "D" for Germany, the five
kinds of British nationality, United Nations documents, refugees and stateless persons, the EU,
Kosovo (RKS) and Doc 9303's specimen state Utopia (UTO).

ISO codes are mapped to their alpha-2 code, whose name in the interface language comes from
CLDR through Babel — the same names the report form's country list shows (apoa/reports/forms.py),
in every language, with nothing to translate by hand. Only ICAO's own codes, which CLDR does not
name, carry a translated name of their own here.
"""
from functools import lru_cache

from babel import Locale
from flask_babel import get_locale, lazy_gettext as _l

# ISO 3166-1 alpha-3 → alpha-2, the officially assigned codes (tests check each pair against
# CLDR's own mapping).
_ISO_PAIRS = """
ABW AW AFG AF AGO AO AIA AI ALA AX ALB AL AND AD ARE AE ARG AR ARM AM ASM AS ATA AQ ATF TF
ATG AG AUS AU AUT AT AZE AZ BDI BI BEL BE BEN BJ BES BQ BFA BF BGD BD BGR BG BHR BH BHS BS
BIH BA BLM BL BLR BY BLZ BZ BMU BM BOL BO BRA BR BRB BB BRN BN BTN BT BVT BV BWA BW CAF CF
CAN CA CCK CC CHE CH CHL CL CHN CN CIV CI CMR CM COD CD COG CG COK CK COL CO COM KM CPV CV
CRI CR CUB CU CUW CW CXR CX CYM KY CYP CY CZE CZ DEU DE DJI DJ DMA DM DNK DK DOM DO DZA DZ
ECU EC EGY EG ERI ER ESH EH ESP ES EST EE ETH ET FIN FI FJI FJ FLK FK FRA FR FRO FO FSM FM
GAB GA GBR GB GEO GE GGY GG GHA GH GIB GI GIN GN GLP GP GMB GM GNB GW GNQ GQ GRC GR GRD GD
GRL GL GTM GT GUF GF GUM GU GUY GY HKG HK HMD HM HND HN HRV HR HTI HT HUN HU IDN ID IMN IM
IND IN IOT IO IRL IE IRN IR IRQ IQ ISL IS ISR IL ITA IT JAM JM JEY JE JOR JO JPN JP KAZ KZ
KEN KE KGZ KG KHM KH KIR KI KNA KN KOR KR KWT KW LAO LA LBN LB LBR LR LBY LY LCA LC LIE LI
LKA LK LSO LS LTU LT LUX LU LVA LV MAC MO MAF MF MAR MA MCO MC MDA MD MDG MG MDV MV MEX MX
MHL MH MKD MK MLI ML MLT MT MMR MM MNE ME MNG MN MNP MP MOZ MZ MRT MR MSR MS MTQ MQ MUS MU
MWI MW MYS MY MYT YT NAM NA NCL NC NER NE NFK NF NGA NG NIC NI NIU NU NLD NL NOR NO NPL NP
NRU NR NZL NZ OMN OM PAK PK PAN PA PCN PN PER PE PHL PH PLW PW PNG PG POL PL PRI PR PRK KP
PRT PT PRY PY PSE PS PYF PF QAT QA REU RE ROU RO RUS RU RWA RW SAU SA SDN SD SEN SN SGP SG
SGS GS SHN SH SJM SJ SLB SB SLE SL SLV SV SMR SM SOM SO SPM PM SRB RS SSD SS STP ST SUR SR
SVK SK SVN SI SWE SE SWZ SZ SXM SX SYC SC SYR SY TCA TC TCD TD TGO TG THA TH TJK TJ TKL TK
TKM TM TLS TL TON TO TTO TT TUN TN TUR TR TUV TV TWN TW TZA TZ UGA UG UKR UA UMI UM URY UY USA US
UZB UZ VAT VA VCT VC VEN VE VGB VG VIR VI VNM VN VUT VU WLF WF WSM WS YEM YE ZAF ZA ZMB ZM
ZWE ZW
"""
ISO_ALPHA2 = dict(zip(_ISO_PAIRS.split()[::2], _ISO_PAIRS.split()[1::2]))

# ICAO's codes that are not ISO alpha-3 codes. Those naming a country borrow its CLDR name.
ICAO_ALPHA2 = {"D": "DE", "RKS": "XK"}
ICAO_NAMES = {
    "GBD": _l("British Overseas Territories Citizen"),
    "GBN": _l("British National (Overseas)"),
    "GBO": _l("British Overseas Citizen"),
    "GBP": _l("British Protected Person"),
    "GBS": _l("British Subject"),
    "UNO": _l("United Nations"),
    "UNA": _l("Specialised agency of the United Nations"),
    "UNK": _l("Kosovo (UN Interim Administration, UNMIK)"),
    "EUE": _l("European Union"),
    "XXA": _l("Stateless person"),
    "XXB": _l("Refugee (1951 Convention)"),
    "XXC": _l("Refugee (other)"),
    "XXX": _l("Unspecified nationality"),
    "XPO": _l("Interpol"),
    "XOM": _l("Sovereign Military Order of Malta"),
    "UTO": _l("Utopia (Doc 9303 specimen)"),
}
# Doc 9303's made-up state of its specimen passports: accepted so the specimen parses, and
# flagged so that nothing treats a specimen as a real traveller.
SPECIMEN_CODES = frozenset({"UTO"})


def nationality_choices():
    """(code, name) of every code a real passport may print, sorted by name in the interface
    language: for a nationality picker (the specimen state left out)."""
    codes = (set(ISO_ALPHA2) | set(ICAO_ALPHA2) | set(ICAO_NAMES)) - SPECIMEN_CODES
    return sorted(((code, country_name(code)) for code in codes), key=lambda pair: pair[1])


def is_known(code):
    """Whether `code` (fillers already removed) is a nationality or issuing state ICAO knows."""
    return code in ISO_ALPHA2 or code in ICAO_ALPHA2 or code in ICAO_NAMES


def is_specimen(code):
    return code in SPECIMEN_CODES


def alpha2(code):
    """The ISO alpha-2 code of a passport's country code, None for codes naming no country."""
    return ISO_ALPHA2.get(code) or ICAO_ALPHA2.get(code)


def country_name(code):
    """The name of `code` in the interface language; the code itself when it is not known, so an
    unexpected code still shows as printed."""
    if code in ICAO_NAMES:
        return str(ICAO_NAMES[code])
    two = alpha2(code)
    if two is None:
        return code or ""
    return _territories(str(get_locale() or "en")).get(two, code)


@lru_cache(maxsize=8)
def _territories(locale):
    return Locale.parse(locale).territories
