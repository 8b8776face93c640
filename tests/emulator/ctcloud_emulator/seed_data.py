"""Deterministic CT seed data: locations, boxes and a few voucher batches.

Every value comes from `random.Random` streams keyed by the seed, and every
timestamp from `FIXED_EPOCH`, so the same `--seed` and sizes give byte-identical
dumps. Each kind of record has its own stream: growing `--boxes` does not
change the locations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import string
import unicodedata
from collections.abc import Callable
from typing import Any

from ctcloud_emulator.clock import FIXED_EPOCH

Record = dict[str, Any]

ACCOUNT_USER_ID = 103  # the one CT account the emulator plays (the seed's `user_id`)
FIRST_LOCATION_ID = 1001
FIRST_BOX_ID = 5001
DAY = 86_400

# (town, latitude, longitude, postcode area)
TOWNS = (
    ("London", 51.5072, -0.1276, "EC"), ("Manchester", 53.4808, -2.2426, "M"), ("Birmingham", 52.4862, -1.8904, "B"),
    ("Leeds", 53.8008, -1.5491, "LS"), ("Bristol", 51.4545, -2.5879, "BS"), ("Liverpool", 53.4084, -2.9916, "L"),
    ("Sheffield", 53.3811, -1.4701, "S"), ("Newcastle upon Tyne", 54.9783, -1.6178, "NE"), ("Nottingham", 52.9548, -1.1581, "NG"),
    ("Leicester", 52.6369, -1.1398, "LE"), ("Brighton", 50.8225, -0.1372, "BN"), ("Cardiff", 51.4816, -3.1791, "CF"),
    ("Edinburgh", 55.9533, -3.1883, "EH"), ("Glasgow", 55.8642, -4.2518, "G"), ("Belfast", 54.5973, -5.9301, "BT"),
    ("Oxford", 51.7520, -1.2577, "OX"), ("Cambridge", 52.2053, 0.1218, "CB"), ("York", 53.9600, -1.0873, "YO"),
    ("Bath", 51.3751, -2.3617, "BA"), ("Exeter", 50.7184, -3.5339, "EX"), ("Norwich", 52.6309, 1.2974, "NR"),
    ("Plymouth", 50.3755, -4.1427, "PL"), ("Southampton", 50.9097, -1.4044, "SO"), ("Aberdeen", 57.1497, -2.0943, "AB"),
    ("Swansea", 51.6214, -3.9436, "SA"), ("Reading", 51.4543, -0.9781, "RG"), ("Derby", 52.9225, -1.4746, "DE"),
    ("Coventry", 52.4068, -1.5197, "CV"), ("Hull", 53.7676, -0.3274, "HU"), ("Stoke-on-Trent", 53.0027, -2.1794, "ST"),
    ("Dundee", 56.4620, -2.9707, "DD"), ("Inverness", 57.4778, -4.2247, "IV"), ("Canterbury", 51.2802, 1.0789, "CT"),
    ("Durham", 54.7753, -1.5849, "DH"), ("Lincoln", 53.2307, -0.5406, "LN"), ("Chester", 53.1934, -2.8931, "CH"),
)

# (venue kind, location_type)
VENUES = (
    ("Central Library", "library"), ("Harbourside Café", "cafe"), ("Market Hall", "retail"), ("Grand Hotel", "hotel"),
    ("Railway Tavern", "pub"), ("Leisure Centre", "leisure"), ("Co-working Hub", "office"), ("Conference Centre", "venue"),
    ("Community Centre", "venue"), ("Shopping Arcade", "retail"), ("Town Hall", "public"), ("Museum", "public"),
    ("Art Gallery", "public"), ("Coffee House", "cafe"), ("Bistro", "restaurant"), ("Student Union", "venue"),
    ("Business Park", "office"), ("Science Park", "office"), ("Sports Club", "leisure"), ("Garden Centre", "retail"),
    ("Retail Park", "retail"), ("Bus Station", "transport"), ("Picture House", "leisure"), ("Theatre Royal", "venue"),
    ("Brewery Tap", "pub"), ("Artisan Bakery", "cafe"), ("Bookshop & Café", "cafe"), ("Backpackers Hostel", "hotel"),
    ("Marina", "leisure"), ("Food Court", "restaurant"),
)

STREETS = (
    "High Street", "Station Road", "Church Lane", "Market Street", "Victoria Road", "Queen Street", "King Street",
    "Mill Lane", "Park Road", "Harbour Way", "Castle Street", "Bridge Street", "Albert Road", "Green Lane",
    "London Road", "Chapel Street", "North Parade", "Quay Street", "Broad Street", "Union Street",
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

BOX_SPOTS = (
    "Lobby", "Reception", "Bar", "Restaurant", "Conference Room", "Floor 1", "Floor 2", "Garden", "Terrace",
    "Back Office", "Entrance", "Kitchen", "Car Park", "Main Hall", "Café",
)
MACHINE_TYPES = ("MR18", "MR33", "MR36", "MR42", "UAP-AC-LR", "UAP-AC-PRO", "OM2P-HS")
FIRMWARE_VERSIONS = ("2.5.4", "2.6.1", "2.7.0", "3.0.2")
BOX_TAGS = ("indoor", "outdoor", "guest", "staff", "events", "poe", "mesh")
MAC_OUIS = ("00:18:0A", "88:15:44", "AC:17:C8", "E0:55:3D", "F0:9F:C2", "24:A4:3C")
# Every address a box gets (wan_ip, public_ip) is a loopback one, 127.0.0.0/8: a play that connects to ct_boxes
# inventory hosts by mistake (no delegate_to) then knocks on this machine, never on a private network or on
# somebody's public address.
PUBLIC_IP_PREFIXES = ("127.0.2.", "127.51.100.", "127.0.113.")

VOUCHER_LOCATIONS = 3  # the first locations get two seeded voucher batches each
# Voucher batches on the first locations: (batch_name, description, access_type, voucher_format)
SEED_VOUCHER_BATCHES = (
    ("Conference Day Passes", "One day of WiFi for delegates", 1, "alphanumeric"),
    ("Guest WiFi Weekly", "Seven days for hotel guests", 1, "words"),
    ("Staff Data Bundle", "Data-limited codes for temporary staff", 2, "numeric"),
)

LOCATION_FIELDS = (
    "id", "archived", "state", "location_name", "slug", "location_address", "street", "town", "postcode", "country", "phone1",
    "location_website", "location_type", "timezone", "development_mode", "daily_limit", "created_at", "updated_at",
    "user_id", "lat", "lng", "clients_total", "clients_online", "boxes_count", "meraki_secret",
)
SEED_COUNTRY = "gb"  # every seeded town is in the United Kingdom


@dataclasses.dataclass
class CtSeed:
    locations: list[Record]
    boxes: list[Record]
    vouchers: list[Record]


def parameterize(text: str) -> str:
    """Rails' `String#parameterize`: ASCII, lower case, dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "location"


def location_slug(seed: int, location_id: int, name: str) -> str:
    """friendly_id-style slug: the parameterized name plus a 22-character suffix, as in the seed's example."""
    digest = int.from_bytes(hashlib.sha256(f"{seed}:location-slug:{location_id}".encode()).digest(), "big")
    alphabet = string.ascii_lowercase + string.digits
    suffix = []
    for _repeat in range(22):
        digest, index = divmod(digest, len(alphabet))
        suffix.append(alphabet[index])
    return f"{parameterize(name)[:60]}-{''.join(suffix)}"


def voucher_unique_id(seed: int, serial: int) -> str:
    """32 hex characters, derived from the seed and a running serial so runs are reproducible."""
    return hashlib.sha256(f"{seed}:voucher:{serial}".encode()).hexdigest()[:32]


def generate_ct_seed(seed: int, location_count: int, box_count: int) -> CtSeed:
    locations = _generate_locations(random.Random(f"{seed}:locations"), seed, location_count)
    boxes = _generate_boxes(random.Random(f"{seed}:boxes"), locations, box_count)
    vouchers = _generate_vouchers(random.Random(f"{seed}:vouchers"), seed, locations)
    return CtSeed(locations=locations, boxes=boxes, vouchers=vouchers)


def _unique_location_names(rng: random.Random, count: int) -> list[tuple[str, int, int]]:
    """(name, town index, venue index); names are unique within the seed."""
    pairs = [(town, venue) for town in range(len(TOWNS)) for venue in range(len(VENUES))]
    rng.shuffle(pairs)
    names = []
    for position in range(count):
        town, venue = pairs[position % len(pairs)]
        round_number = position // len(pairs)
        town_name, kind = TOWNS[town][0], VENUES[venue][0]
        name = (f"{town_name} {kind}", f"The {kind}, {town_name}", f"{kind} \N{EN DASH} {town_name}")[position % 3]
        if round_number:
            name = f"{name} {round_number + 1}"
        names.append((name, town, venue))
    return names


def _generate_locations(rng: random.Random, seed: int, count: int) -> list[Record]:
    locations = []
    for offset, (name, town_index, venue_index) in enumerate(_unique_location_names(rng, count)):
        location_id = FIRST_LOCATION_ID + offset
        town, lat, lng, area = TOWNS[town_index]
        created_at = FIXED_EPOCH - rng.randint(30, 1500) * DAY - rng.randint(0, DAY - 1)
        street = rng.choice(STREETS)
        # The first locations carry the seeded vouchers and stay active, so demos can start there.
        archived = rng.random() < 0.08 and offset >= VOUCHER_LOCATIONS
        has_coordinates = rng.random() < 0.95
        clients_total = rng.randint(0, 5000)
        postcode = f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}"
        phone = (f"+44 20 7946 0{rng.randint(0, 999):03d}" if town == "London" else f"+44 1632 960{rng.randint(0, 999):03d}")
        locations.append({
            "id": str(location_id),
            "archived": archived,
            "state": "archived" if archived else "active",
            "location_name": name,
            "slug": location_slug(seed, location_id, name),
            "location_address": f"{rng.randint(1, 240)} {street}",
            "street": street if rng.random() < 0.7 else None,
            "town": town,
            "postcode": postcode,
            "country": SEED_COUNTRY,
            "phone1": phone if rng.random() < 0.8 else None,
            "location_website": f"https://www.example.org/{parameterize(name)}" if rng.random() < 0.6 else None,
            "location_type": VENUES[venue_index][1],
            "timezone": "Europe/London",
            "development_mode": "Beta" if rng.random() < 0.1 else None,
            "daily_limit": rng.random() < 0.3,
            "created_at": created_at,
            "updated_at": created_at + rng.randint(0, FIXED_EPOCH - created_at),
            "user_id": ACCOUNT_USER_ID,
            "lat": round(lat + rng.uniform(-0.03, 0.03), 4) if has_coordinates else None,
            "lng": round(lng + rng.uniform(-0.03, 0.03), 4) if has_coordinates else None,
            "clients_total": clients_total,
            "clients_online": min(clients_total, rng.randint(0, 60)),
            "boxes_count": 0,
            "meraki_secret": f"{rng.getrandbits(64):016x}" if rng.random() < 0.1 else None,
        })
    return locations


def _box_state(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.84:
        return "online"
    if draw < 0.94:
        return "offline"
    if draw < 0.98:
        return "splash_only"
    return "new"


def _generate_boxes(rng: random.Random, locations: list[Record], count: int) -> list[Record]:
    boxes = []
    used_macs: set[str] = set()
    used_slugs: set[str] = set()
    boxes_per_location: dict[str, int] = {}
    for offset in range(count):
        location = rng.choice(locations) if locations and rng.random() >= 0.02 else None
        state = _box_state(rng)
        mac = _unique(used_macs, lambda: f"{rng.choice(MAC_OUIS)}:{rng.randint(0, 255):02X}:{rng.randint(0, 255):02X}:{rng.randint(0, 255):02X}")
        slug = _unique(used_slugs, lambda: "ap-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _repeat in range(10)))
        is_new = state == "new"
        online = state in ("online", "splash_only")
        not_before = location["created_at"] if location else FIXED_EPOCH - 900 * DAY
        if location:
            boxes_per_location[location["id"]] = boxes_per_location.get(location["id"], 0) + 1
        boxes.append({
            "id": str(FIRST_BOX_ID + offset),
            "slug": slug,
            "location_id": location["id"] if location else None,
            "location_slug": location["slug"] if location else None,
            "calledstationid": mac if rng.random() < 0.65 else mac.replace(":", "-"),
            "mac": mac.lower(),
            "description": f"{rng.choice(BOX_SPOTS)}{rng.choice(('', ' AP', ' East', ' West'))}",
            "state": state,
            "is_online": online,
            # The dashboard: heartbeats clear it when a box goes offline and set it otherwise.
            "allowed_job": state != "offline",
            "last_heartbeat": None if is_new else FIXED_EPOCH - (rng.randint(5, 300) if online else rng.randint(DAY, 60 * DAY)),
            "wan_ip": None if is_new else f"127.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "public_ip": None if is_new else f"{rng.choice(PUBLIC_IP_PREFIXES)}{rng.randint(1, 254)}",
            "machine_type": rng.choice(MACHINE_TYPES),
            "firmware_version": rng.choice(FIRMWARE_VERSIONS),
            "serial_number": _meraki_serial(rng),
            "uptime_seconds": rng.randint(3600, 90 * DAY) if online else 0,
            "zone_id": str(rng.randint(1, 9)) if rng.random() < 0.3 else None,
            "clients_online": rng.randint(0, 40) if online else 0,
            "tags": sorted(rng.sample(BOX_TAGS, rng.randint(0, 2))),
            "created_at": rng.randint(not_before, FIXED_EPOCH - DAY),
        })
    for location in locations:
        location["boxes_count"] = boxes_per_location.get(location["id"], 0)
    return boxes


def _meraki_serial(rng: random.Random) -> str:
    """`Q2XX-XXXX-XXXX`, the shape of the access points' serial numbers."""
    alphabet = string.ascii_uppercase + string.digits
    groups = ["".join(rng.choice(alphabet) for _repeat in range(4)) for _repeat in range(3)]
    return f"Q2{groups[0][2:]}-{groups[1]}-{groups[2]}"


def _unique(used: set[str], make: Callable[[], str]) -> str:
    value = make()
    while value in used:
        value = make()
    used.add(value)
    return value


def _generate_vouchers(rng: random.Random, seed: int, locations: list[Record]) -> list[Record]:
    vouchers = []
    for location in locations[:VOUCHER_LOCATIONS]:
        for batch_name, description, access_type, voucher_format in rng.sample(SEED_VOUCHER_BATCHES, 2):
            quantity = rng.choice((10, 20, 25, 50))
            validity = rng.choice((60, 1440, 10080))
            voucher = new_voucher_record(
                unique_id=voucher_unique_id(seed, len(vouchers) + 1),
                location_id=location["id"],
                created_at=rng.randint(location["created_at"], FIXED_EPOCH - DAY),
                settings={
                    "batch_name": batch_name,
                    "batch_description": description,
                    "quantity": quantity,
                    "access_type": access_type,
                    "validity_minutes": validity if access_type == 1 else None,
                    "access_restrict_data": rng.choice((500, 1000, 5000)) if access_type == 2 else None,
                    "session_timeout": validity if access_type == 1 else 1440,
                    "length": rng.choice((6, 8, 10)),
                    "splash_page_id": rng.choice(("external", str(rng.randint(100, 999)))),
                    "idle_timeout": rng.choice((None, 30, 60)),
                    "simultaneous_use": 1,
                    "access_restrict_period": "",
                    "access_period": None,
                    "voucher_format": voucher_format,
                    "download_speed": 2048,
                    "upload_speed": 1024,
                },
            )
            voucher["_ready_at"] = 0.0
            voucher["_activated"] = rng.randint(0, quantity // 2)
            vouchers.append(voucher)
    return vouchers


def new_voucher_record(unique_id: str, location_id: str, created_at: int, settings: dict[str, Any]) -> Record:
    """A voucher batch as stored; `_ready_at` (when its codes exist) and `_activated` are internal."""
    return {
        "unique_id": unique_id,
        "location_id": location_id,
        **settings,
        "is_active": True,
        "created_at": created_at,
        "_ready_at": 0.0,
        "_activated": 0,
    }
