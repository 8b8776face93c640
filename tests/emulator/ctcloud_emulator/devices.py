"""cThings devices and their readings: deterministic, read-only, pre-serialized.

Devices never change through the API, so the catalog is built once per seed and
never stored: a restart regenerates it from the seed parameters. Each device's
JSON text is built at generation time, which turns a 1000-device page into a
string join.
"""

from __future__ import annotations

import math
import random
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from ctcloud_emulator.clock import FIXED_EPOCH, iso_z, parse_reading_time, reading_time
from ctcloud_emulator.seed_data import TOWNS
from ctcloud_emulator.web import to_json

Device = dict[str, Any]
DAY = 86_400

ENTITY_NAMES = (
    "Northgate Estates", "Riverside Council", "Acme Facilities", "Harbour Housing Trust", "Meridian Retail Group", "Campus Services",
)
MANUFACTURER_NAMES = ("Northwind Sensors", "Contoso Metering", "Fabrikam IoT", "Tailspin Devices")
PROVIDER_NAMES = ("cThings", "The Things Network", "Orbital LPWAN")

# (reading key, description, unit, typeId, primary)
Measurement = tuple[str, str, str, int, bool]
# key -> (label, service point type, measurements)
DEVICE_TYPES: dict[str, tuple[str, str, tuple[Measurement, ...]]] = {
    "temperature_sensor": ("Temperature Sensor", "Environment", (
        ("temperature", "Temperature", "°C", 1, True), ("humidity", "Humidity", "%RH", 2, False))),
    "energy_meter": ("Energy Meter", "Electricity", (
        ("energy", "Energy", "kWh", 70, True), ("power", "Power", "W", 71, False))),
    "water_meter": ("Water Meter", "Water", (
        ("volume", "Volume", "m³", 80, True), ("flow", "Flow", "l/h", 81, False))),
    "air_quality": ("Air Quality Monitor", "Environment", (
        ("co2", "CO₂", "ppm", 30, True), ("pm25", "PM2.5", "µg/m³", 31, False))),
    "people_counter": ("People Counter", "Occupancy", (("count", "People", "people", 40, True),)),
}

PLACES = (
    "Boiler Room", "Plant Room", "Reception", "Meeting Room 1", "Meeting Room 2", "Kitchen", "Server Room", "Car Park",
    "Roof", "Basement", "Loading Bay", "Lobby", "Stairwell B", "Floor 3 East", "Floor 3 West", "Gym", "Café", "Library",
    "Block A", "Block B", "Unit 7", "Flat 12", "Flat 14a", "Main Hall", "Changing Rooms",
)
# Names a consumer must survive: odd characters, inner and outer spaces, non-Latin script.
ODD_NAMES = (
    "O'Brien's Café \N{EN DASH} Temp", "Zone A/B: CO₂", "Flat 3 (old meter)", "Lobby  counter", " Reception sensor ",
    "Ñandú Room Sensor", "東京 Office Temperature", "Meter #12 & #13", 'Quote "Main" meter', "Back\\slash probe",
    "Emoji 🌡️ Sensor", "Plant-Room/Meter 1",
)
DATA_INTERVALS_MINUTES = (15, 30, 60)
DUPLICATE_NAME_EVERY = 17  # every 17th device reuses an earlier device's name


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex16(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


class DeviceCatalog:
    """All devices of one seed, with the lookups the API needs."""

    def __init__(self, devices: list[Device]) -> None:
        self.devices = devices
        self.json_texts = [to_json(device) for device in devices]
        self.index_by_id = {device["id"]: index for index, device in enumerate(devices)}
        # Filter results are cached: the catalog never changes, and CI loops list the same filters.
        self._selections: dict[tuple[str | None, str | None, bool | None], tuple[int, ...]] = {}
        # The admin API may flip a device's connection (to test event sources); a reset puts the seeded one back.
        self._seeded_connections: dict[int, dict[str, Any]] = {}

    @classmethod
    def generate(cls, seed: int, count: int) -> DeviceCatalog:
        return cls(_generate_devices(random.Random(f"{seed}:devices"), count))

    def __len__(self) -> int:
        return len(self.devices)

    def find(self, device_id: str) -> int | None:
        return self.index_by_id.get(device_id)

    def replace_connection(self, index: int, connection: dict[str, Any]) -> Device:
        """Admin only: the device with a new `connection`; its cached JSON follows. Filters never look at it."""
        self._seeded_connections.setdefault(index, self.devices[index]["connection"])
        return self._set_connection(index, connection)

    def restore_seeded_connections(self) -> None:
        for index, connection in self._seeded_connections.items():
            self._set_connection(index, connection)
        self._seeded_connections.clear()

    def _set_connection(self, index: int, connection: dict[str, Any]) -> Device:
        device = {**self.devices[index], "connection": connection}
        self.devices[index] = device
        self.json_texts[index] = to_json(device)
        return device

    def select(self, entity_id: str | None, type_key: str | None, active: bool | None) -> tuple[int, ...]:
        """Indexes of the devices matching every filter given (None: no filter), in catalog order."""
        key = (entity_id, type_key, active)
        selection = self._selections.get(key)
        if selection is None:
            selection = tuple(
                index for index, device in enumerate(self.devices)
                if (entity_id is None or device["entity"]["id"] == entity_id)
                and (type_key is None or device["type"]["key"] == type_key)
                and (active is None or device["active"] is active)
            )
            self._selections[key] = selection
        return selection


def _device_name(rng: random.Random, index: int, names: list[str]) -> str:
    if index and index % DUPLICATE_NAME_EVERY == DUPLICATE_NAME_EVERY - 1:
        return names[rng.randrange(index)]
    if rng.random() < 0.03:
        return rng.choice(ODD_NAMES)
    return ""


def _generate_devices(rng: random.Random, count: int) -> list[Device]:
    entities = [{"name": name, "id": _uuid(rng)} for name in ENTITY_NAMES]
    manufacturers = [{"id": _uuid(rng), "manufacturer": name} for name in MANUFACTURER_NAMES]
    providers = [{"id": _uuid(rng), "provider": name} for name in PROVIDER_NAMES]
    types = {key: {"id": _uuid(rng), "key": key, "type": label} for key, (label, _service_point, _measurements) in DEVICE_TYPES.items()}
    type_keys = list(DEVICE_TYPES)
    gateways = [_hex16(rng) for _repeat in range(20)]
    names: list[str] = []
    devices = []
    for index in range(count):
        type_key = rng.choice(type_keys)
        label, service_point_type, _measurements = DEVICE_TYPES[type_key]
        name = _device_name(rng, index, names) or rng.choice((
            f"{rng.choice(PLACES)} {label}", f"{label} - {rng.choice(PLACES)}", f"{label} {rng.randint(1, 60)}",
        ))
        names.append(name)
        serial = _hex16(rng)
        created = FIXED_EPOCH - rng.randint(10, 1000) * DAY - rng.randint(0, DAY - 1)
        connected = rng.random() < 0.85
        is_test = rng.random() < 0.02
        shifted = rng.random() < 0.1
        town = rng.choice(TOWNS)
        located = rng.random() < 0.85
        devices.append({
            "id": _uuid(rng),
            "device": serial,
            "name": name,
            "settings": {},
            "type": types[type_key],
            "active": rng.random() < 0.95,
            "connection": {
                "status": connected,
                "lastConnected": iso_z(FIXED_EPOCH - (rng.randint(0, 3600) if connected else rng.randint(2 * DAY, 120 * DAY))),
                "signalStrength": round(rng.uniform(-120.0, -40.0), 4),
                "route": rng.sample(gateways, rng.randint(1, 3)),
            },
            "ingest": {
                "identifier": serial,
                "template": "default" if rng.random() < 0.2 else None,
                "timeShift": {"timeShift": 3600, "inherited": False} if shifted else {"timeShift": 0, "inherited": True},
            },
            "provider": rng.choice(providers),
            "manufacturer": rng.choice(manufacturers),
            "entity": rng.choice(entities),
            "node": {"id": _uuid(rng), "name": name, "serial": serial.upper()},
            "watchlist": rng.random() < 0.1,
            "servicePoint": {"id": _uuid(rng), "type": service_point_type} if rng.random() < 0.8 else None,
            "timeBinKey": 4,
            "dataInterval": rng.choice(DATA_INTERVALS_MINUTES),
            "liveAt": iso_z(created + rng.randint(0, 5 * DAY)),
            "isTest": is_test,
            "location": {
                "latitude": round(town[1] + rng.uniform(-0.05, 0.05), 6) if located else None,
                "longitude": round(town[2] + rng.uniform(-0.05, 0.05), 6) if located else None,
            },
            "configuration": {"test": True} if is_test else {},
            "downlinkProtocol": [],
            "tasks": [],
            "createdAt": iso_z(created),
        })
    return devices


# ---- readings -------------------------------------------------------------------------------

def _noise(device_id: str, slot: int) -> int:
    """A cheap deterministic pseudo-random number per device and time slot."""
    return zlib.crc32(f"{device_id}:{slot}".encode())


def _daily_wave(timestamp: int) -> float:
    return math.sin(2 * math.pi * (timestamp % DAY) / DAY)


# reading key -> value(device base, timestamp, slot, noise)
READING_VALUES: dict[str, Callable[[int, int, int, int], float | int]] = {
    "temperature": lambda base, ts, slot, noise: round(19 + 3 * _daily_wave(ts) + (noise % 100) / 100, 2),
    "humidity": lambda base, ts, slot, noise: 35 + noise % 30,
    "energy": lambda base, ts, slot, noise: base + slot // 4,
    "power": lambda base, ts, slot, noise: 200 + noise % 3000,
    "volume": lambda base, ts, slot, noise: round(base / 10 + slot * 0.01, 3),
    "flow": lambda base, ts, slot, noise: noise % 500,
    "co2": lambda base, ts, slot, noise: 400 + noise % 800,
    "pm25": lambda base, ts, slot, noise: round((noise % 500) / 10, 1),
    "count": lambda base, ts, slot, noise: noise % 50 if _daily_wave(ts - DAY // 4) > 0 else noise % 3,
}


def reading_count_and_first(device: Device, from_ts: int, to_ts: int, now: float) -> tuple[int, int, int]:
    """(count, first timestamp, step) of the readings with from ≤ dtm < to, never after `now` or before creation.

    A device reports every `dataInterval` minutes, on multiples of the interval.
    """
    step = device["dataInterval"] * 60
    created = _created_seconds(device)
    start = max(from_ts, created)
    stop = min(to_ts, int(now) + 1)
    first = -(-start // step) * step
    if first >= stop:
        return 0, first, step
    return (stop - first + step - 1) // step, first, step


def readings_page(device: Device, first: int, step: int, offset: int, limit: int, count: int) -> list[dict[str, Any]]:
    measurements = DEVICE_TYPES[device["type"]["key"]][2]
    base = _noise(device["id"], -1) % 50_000
    page = []
    for position in range(offset, min(offset + limit, count)):
        timestamp = first + position * step
        slot = timestamp // step
        noise = _noise(device["id"], slot)
        page.append({
            "dtm": reading_time(timestamp),
            "data": {
                key: {"description": description, "unit": unit, "value": READING_VALUES[key](base, timestamp, slot, noise),
                      "primary": primary, "typeId": type_id}
                for key, description, unit, type_id, primary in measurements
            },
        })
    return page


def _created_seconds(device: Device) -> int:
    return int(parse_reading_time(device["createdAt"].rstrip("Z")))
