"""Command line: `python3 tests/emulator/run_emulator.py --port 0 --devices 10000`."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from ctcloud_emulator import config
from ctcloud_emulator.config import Knobs, SeedParams
from ctcloud_emulator.dialects import DEFAULT, DIALECTS
from ctcloud_emulator.persistence import StateFileError, write_atomically
from ctcloud_emulator.server import LOOPBACK, Emulator
from ctcloud_emulator.webhooks import WebhookError, WebhookTarget


def _argument_type(parser_function: Callable[[str], object], name: str) -> Callable[[str], object]:
    """Reuse the knob validators for flags, with argparse's error reporting."""
    def parse(text: str) -> object:
        try:
            return parser_function(text)
        except config.KnobError as error:
            raise argparse.ArgumentTypeError(f"{name} {error}") from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    defaults = Knobs()
    seed_defaults = SeedParams()
    parser = argparse.ArgumentParser(
        prog="run_emulator.py",
        description="Emulate the CT and cThings cloud APIs on 127.0.0.1 (see docs/emulator.md).",
    )
    parser.add_argument("--host", default=LOOPBACK, help="must be 127.0.0.1: the emulator never listens elsewhere")
    parser.add_argument("--port", type=_argument_type(config.non_negative_int, "port"), default=0, help="0 picks a free port")
    for name in ("locations", "boxes", "devices"):
        parser.add_argument(f"--{name}", type=_argument_type(config.non_negative_int, name), default=getattr(seed_defaults, name),
                            help=f"seeded {name} (default %(default)s)")
    parser.add_argument("--seed", type=int, default=seed_defaults.seed, help="seed of the data and the credentials")
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default=DEFAULT.name,
                        help="dashboard: the APIs as the vendor's dashboard shows them; legacy: the emulator of 0.1.0 (default %(default)s)")
    knob_help = {
        "fault_rate": "fraction of API requests answered with a fault",
        "fault_statuses": "comma-separated fault statuses (429, 502, 503, 504)",
        "retry_after": "Retry-After seconds on 429",
        "revoke_every": "revoke the CT access tokens every N CT API requests (0: never)",
        "ct_access_ttl": "CT access token lifetime, seconds",
        "cthings_access_ttl": "cThings access token lifetime, seconds",
        "reboot_delay": "seconds a rebooting box takes to come back online",
        "voucher_delay": "seconds until a voucher batch is completed",
        "ct_rotation": "on_use (Doorkeeper default) or strict",
        "latency_ms": "milliseconds added to every API request",
        "search_lag": "seconds the dashboard dialect's q search index lags behind writes",
        "lose_refresh_replies": "lose the replies of the next N CT refresh grants (the grant is made, the connection closes)",
        "heartbeat_lag": "seconds the last_heartbeat of an up box lags behind now, its uptime_seconds counted to now (0: as stored)",
        "voucher_id_length": "hexadecimal digits of the unique_id of a voucher batch created from now on (8 to 32)",
        "unique_location_names": "true: a location create or rename onto a name another location has is 422 'has already been taken'",
    }
    for name, parse in config.KNOB_PARSERS.items():
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        # A true/false knob is also a switch: --name alone means true (as --verbose), --name false turns it off.
        switch = {"nargs": "?", "const": True} if isinstance(default, bool) else {}
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_argument_type(parse, name), default=default,
                            help=f"{knob_help[name]} (default {shown})", **switch)
    parser.add_argument("--state-file", help="load state from this file if it exists; save it atomically after changes and on exit")
    parser.add_argument("--ready-file", help="also write the start-up line to this file")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--pose-as-real-cloud", action="store_true",
                        help="do not announce itself on /_admin/identity: the shipped playbooks then refuse to write to it, "
                             "as they refuse a real cloud")
    webhook = parser.add_argument_group("cThings webhooks", "where POST /_admin/cthings/webhook/send delivers readings (loopback only)")
    for name, text in (("url", "http(s) URL of the receiver"), ("basic-username", "Basic authorization user"),
                       ("basic-password", "Basic authorization password"), ("header-name", "name of a custom auth header"),
                       ("header-value", "value of that header"), ("ca-file", "CA bundle that signed an https receiver's certificate")):
        webhook.add_argument(f"--webhook-{name}", dest=f"webhook_{name.replace('-', '_')}", metavar="VALUE", help=text)
    return parser


def webhook_target(options: argparse.Namespace) -> WebhookTarget | None:
    values = {name: getattr(options, f"webhook_{name}") for name in WebhookTarget.OPTIONS}
    if not any(values.values()):
        return None
    return WebhookTarget.from_options({name: value for name, value in values.items() if value is not None})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.host != LOOPBACK:
        parser.error(f"--host must be {LOOPBACK}: the emulator is never reachable from other machines")
    knobs = Knobs(**{name: getattr(options, name) for name in config.KNOB_PARSERS})
    seed_params = SeedParams(locations=options.locations, boxes=options.boxes, devices=options.devices, seed=options.seed)
    try:
        webhook = webhook_target(options)
    except WebhookError as error:
        parser.error(f"--webhook-*: {error}")
    try:
        emulator = Emulator(seed_params, knobs, port=options.port, state_file=options.state_file, verbose=options.verbose,
                            webhook=webhook, dialect=DIALECTS[options.dialect], pose_as_real_cloud=options.pose_as_real_cloud)
    except StateFileError as error:
        parser.error(str(error))
    except OSError as error:
        parser.error(f"cannot listen on {LOOPBACK}:{options.port}: {error}")

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    emulator.start()
    line = json.dumps(emulator.start_line())
    # The ready file first: whoever saw the line on stdout may read the file at once.
    if options.ready_file:
        write_atomically(options.ready_file, line + "\n")
    print(line, flush=True)
    stopping.wait()
    emulator.stop()
    return 0
