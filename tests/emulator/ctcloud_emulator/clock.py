"""Time: the fixed epoch every seeded timestamp derives from, and the wire formats.

Seed data never reads the real clock, so two runs with the same seed dump the
same state. The real clock is used only where the contract is about elapsed
time: token expiry, voucher completion, box reboots and `updated_at` on writes.
"""

import calendar
import time

# 2023-11-14T22:13:20Z: "now" as far as seeded data is concerned.
FIXED_EPOCH = 1_700_000_000

READING_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def iso_z(unix_seconds: float) -> str:
    """cThings time: ISO 8601 in UTC with a `Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_seconds))


def reading_time(unix_seconds: float) -> str:
    """cThings reading `dtm`: ISO 8601 without a zone, as the webhook payload shows."""
    return time.strftime(READING_TIME_FORMAT, time.gmtime(unix_seconds))


def parse_reading_time(text: str) -> float:
    """Parse a zone-less `from`/`to` query value (taken as UTC); ValueError when malformed."""
    return float(calendar.timegm(time.strptime(text, READING_TIME_FORMAT)))
