# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""CT voucher batches: the option <-> API field table, input rules, and the API calls.

The only file that knows voucher paths and field names (``docs/api-contract.md``,
"Vouchers"). A voucher is a *batch* of login codes under one location; its natural
key is ``batch_name`` within that location. The API does not enforce unique batch
names, so a name that matches several batches is an error that lists them.

Codes are credentials: they are read only on request (:meth:`VoucherResource.codes`)
and are never part of the shape, so they can never reach a diff or ``changes``.
"""

from __future__ import annotations

import math
import re
from typing import Any, ContextManager, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import field_errors, with_booleans
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import CT_CODE_LIST, CT_VOUCHER, CT_VOUCHER_LIST
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import controller_lock
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import UPDATE, Field, ImmutableFieldError, Shape, canonical_name, plan
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Resource

ACCESS_TYPES = {"time": 1, "data": 2}
_ACCESS_NAMES = {number: name for name, number in ACCESS_TYPES.items()}
# The API's "" (no periodic restriction) has a name, so that it can be written in YAML and shown in a diff.
# The dashboard labels them: "" All Time, multi-use; daily/weekly/monthly: multi-use per period; all: Single-use.
RESTRICT_PERIODS = {"none": "", "daily": "daily", "weekly": "weekly", "monthly": "monthly", "all": "all"}
SINGLE_USE = "all"
ACCESS_PERIOD_MAX = 43_201  # the form's "Single-Use Limit (mins)" maximum
_RESTRICT_NAMES = {api: name for name, api in RESTRICT_PERIODS.items()}
VOUCHER_FORMATS = ("alphanumeric", "numeric", "alpha", "words")
CODE_FIELDS = ("username", "password", "serial", "active")

SHAPE = Shape(
    "voucher",
    [
        Field("batch_name", "batch_name", compare=canonical_name),
        Field("description", "batch_description"),
        Field("quantity", "quantity", mutable=False),
        Field(
            "access_type",
            "access_type",
            mutable=False,
            to_api=lambda value: ACCESS_TYPES.get(value, value),
            from_api=lambda value: _ACCESS_NAMES.get(value, value),
        ),
        Field("validity_minutes", "validity_minutes"),
        Field("data_limit_mb", "access_restrict_data"),
        Field("session_timeout", "session_timeout"),
        Field("idle_timeout", "idle_timeout"),
        Field("simultaneous_use", "simultaneous_use"),
        Field("code_length", "length", mutable=False),
        Field("voucher_format", "voucher_format", mutable=False),
        Field(
            "restrict_period",
            "access_restrict_period",
            mutable=False,
            to_api=lambda value: RESTRICT_PERIODS.get(value, value),
            from_api=lambda value: _RESTRICT_NAMES.get(value, value),
        ),
        Field("access_period", "access_period"),
        Field("download_speed", "download_speed"),
        Field("upload_speed", "upload_speed"),
        # The edit form disables it once the batch exists (vouchers/_form.html).
        Field("splash_page_id", "splash_page_id", mutable=False),
        # The create request does not take is_active (every new batch is active); an update sets it.
        Field("active", "is_active", on_create=False),
    ],
    key="batch_name",
    identity=("unique_id",),
)

# (minimum, maximum) from the contract; session_timeout's real maximum is validity_minutes.
INTEGER_RANGES = {
    "quantity": (10, 1000),
    "validity_minutes": (5, 518_412),
    "data_limit_mb": (50, 1_000_000),
    "session_timeout": (1, 518_412),
    "idle_timeout": (10, 43_200),
    "simultaneous_use": (1, 100),
    "code_length": (6, 50),
    "download_speed": (56, 102_400),
    "upload_speed": (56, 102_400),
    "access_period": (1, ACCESS_PERIOD_MAX),
}
# Nothing in the contract fixes the id's length or alphabet (CT's are 32 hex characters, other servers' 16): any
# non-empty run of URL-unreserved characters, which a path segment carries as it is.
_UNIQUE_ID = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")
_CT_UNIQUE_ID = re.compile(r"^[0-9A-Fa-f]{32}$")
_SPLASH_PAGE = re.compile(r"^(?:[0-9]{1,18}|external)$")

# The batch options of ct_voucher (its argument spec without the module's own switches).
ENTRY_OPTIONS: dict[str, dict[str, Any]] = {
    "location": {"type": "str", "required": True},
    "id": {"type": "str"},
    "batch_name": {"type": "str"},
    "description": {"type": "str"},
    "quantity": {"type": "int"},
    "access_type": {"type": "str", "choices": sorted(ACCESS_TYPES)},
    "validity_minutes": {"type": "int"},
    "data_limit_mb": {"type": "int"},
    "session_timeout": {"type": "int"},
    "idle_timeout": {"type": "int"},
    "simultaneous_use": {"type": "int"},
    "code_length": {"type": "int"},
    "voucher_format": {"type": "str", "choices": list(VOUCHER_FORMATS)},
    "restrict_period": {"type": "str", "choices": list(RESTRICT_PERIODS)},
    "access_period": {"type": "int"},
    "download_speed": {"type": "int"},
    "upload_speed": {"type": "int"},
    "splash_page_id": {"type": "str"},
    "active": {"type": "bool"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
}


def unique_id(value: Any, field: str = "id") -> str:
    """A batch's ``unique_id`` as the API gave it. CT's own shape (32 hexadecimal digits) is lowercased as CT writes it,
    so an id pasted in capitals still finds its batch; any other id is the server's, its case kept."""
    text = value.strip() if isinstance(value, str) else ""
    if not _UNIQUE_ID.match(text) or text in (".", ".."):
        raise InputError(
            f"{field} must be a voucher batch's unique_id (letters, digits, '-', '_', '.' or '~', as the API returns it), got {value!r}",
            field,
        )
    return text.lower() if _CT_UNIQUE_ID.match(text) else text


def validate(options: Mapping[str, Any]) -> dict[str, Any]:
    """Clean ct_voucher options; every rule that needs no request, so bad input sends nothing."""
    clean = {name: options.get(name) for name in ENTRY_OPTIONS}
    clean["location"] = validation.text(clean["location"], "location", 1, 200)
    if clean["id"] is not None:
        clean["id"] = unique_id(clean["id"])
    if clean["batch_name"] is not None:
        clean["batch_name"] = validation.text(clean["batch_name"], "batch_name", 1, 100)
    elif clean["id"] is None:
        raise InputError("a voucher batch needs a batch_name (or an id)", "batch_name")
    if clean["description"] is not None:
        # CT's form requires it, on create and on edit alike: a blank one is refused, so it is refused here first.
        clean["description"] = validation.text(clean["description"], "description", 1, 255)
    for name, (minimum, maximum) in INTEGER_RANGES.items():
        if clean[name] is not None:
            clean[name] = validation.integer(clean[name], name, minimum, maximum)
    if clean["splash_page_id"] is not None:
        text = str(clean["splash_page_id"]).strip().lower()
        if not _SPLASH_PAGE.match(text):
            raise InputError(f"splash_page_id must be a numeric page id or 'external', got {clean['splash_page_id']!r}", "splash_page_id")
        clean["splash_page_id"] = text
    check_combination(clean)
    return clean


def check_combination(options: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> None:
    """Rules between fields, on the batch as it would be: the user's options over the existing batch, if any.

    Called with the options alone before any request, and again with the batch found, before any write.
    """
    if options.get("state") == "absent":
        return
    known = SHAPE.view(current) if current is not None else {}
    merged = dict(known, **{name: value for name, value in options.items() if value is not None})
    access_type = merged.get("access_type")

    def given(name: str) -> bool:
        return options.get(name) is not None

    where = f" (the batch {known.get('batch_name')!r} is {access_type})" if current is not None and not given("access_type") else ""
    if given("validity_minutes") and given("data_limit_mb"):
        raise InputError("validity_minutes (access_type time) and data_limit_mb (access_type data) exclude each other", "data_limit_mb")
    if access_type == "time" and given("data_limit_mb"):
        raise InputError(f"data_limit_mb applies to access_type data only{where}; a time batch takes validity_minutes", "data_limit_mb")
    if access_type == "data" and given("validity_minutes"):
        raise InputError(f"validity_minutes applies to access_type time only{where}; a data batch takes data_limit_mb", "validity_minutes")
    session, validity = merged.get("session_timeout"), merged.get("validity_minutes")
    relevant = access_type != "data" and (given("session_timeout") or given("validity_minutes"))
    if relevant and session is not None and validity is not None and session > validity:
        raise InputError(f"session_timeout ({session} minutes) must not exceed validity_minutes ({validity} minutes)", "session_timeout")
    period, single_use_limit = merged.get("restrict_period"), merged.get("access_period")
    period_where = f" (the batch {known.get('batch_name')!r} has restrict_period {period})" if current is not None and not given("restrict_period") else ""
    if given("access_period") and period != SINGLE_USE:
        raise InputError(
            f"access_period is the single-use limit: it applies only with restrict_period: all (single-use codes){period_where}",
            "access_period",
        )
    relevant = period == SINGLE_USE and access_type != "data" and (given("access_period") or given("validity_minutes"))
    if relevant and single_use_limit is not None and validity is not None and single_use_limit < validity:
        raise InputError(
            f"access_period ({single_use_limit} minutes) must be at least validity_minutes ({validity} minutes)", "access_period"
        )


class VoucherResource(Resource):
    """The voucher batches of one location (its numeric id)."""

    api_name = "CT"

    def field_errors(self, exc: ApiError) -> dict[str, list[str]]:
        return field_errors(exc)  # CT's 422 body: {"errors": {field: [message]}}

    shape = SHAPE
    required_on_create = ("batch_name", "description", "quantity", "access_type", "session_timeout", "code_length", "splash_page_id")
    id_field = "unique_id"
    body_key = "voucher"
    schema = CT_VOUCHER
    list_key = "vouchers"
    list_schema = CT_VOUCHER_LIST
    key_filter = "batch_name"

    def __init__(self, client: Any, location_id: str, access_type: str | None = None) -> None:
        super().__init__(client)
        self.location_id = str(location_id)
        # What the API sets on create (contract "Vouchers"), so that a check-mode create shows the batch as it will be.
        self.new_defaults = {
            "unique_id": None,
            "location_id": self.location_id,
            "is_active": True,
            "completed": False,
            "csv_link": None,
            "pdf_link": None,
            "idle_timeout": None,
            "simultaneous_use": 1,
            "access_restrict_period": "",
            "access_period": None,
            "voucher_format": "alphanumeric",
            "download_speed": 2048,
            "upload_speed": 1024,
        }
        # A batch has the limit of its access type only; the other one is null, not something only the server knows.
        unused_limit = {"time": "access_restrict_data", "data": "validity_minutes"}.get(access_type or "")
        if unused_limit:
            self.new_defaults[unused_limit] = None

    def path(self, *rest: Any) -> list[Any]:
        return ["locations", self.location_id, "vouchers", *rest]

    def from_reply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return with_booleans(obj, ("is_active", "completed"))

    def codes(self, voucher: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The batch's login codes, every page; an incomplete batch has none yet."""
        codes = self.client.list_all(self.path(voucher["unique_id"], "codes"), "codes", CT_CODE_LIST)
        return [with_booleans({name: code.get(name) for name in CODE_FIELDS}, ("active",)) for code in codes]

    def missing_for_create(self, options: Mapping[str, Any]) -> list[str]:
        missing = super().missing_for_create(options)
        limit = {"time": "validity_minutes", "data": "data_limit_mb"}.get(options.get("access_type") or "")
        if limit and options.get(limit) is None:
            missing.append(limit)
        if options.get("restrict_period") == SINGLE_USE and options.get("access_period") is None:
            missing.append("access_period")  # the form: "Required with single-use vouchers"
        return missing


def creation_turn(client: Any, token_store: str | None, location_id: str, batch_name: str) -> ContextManager[str]:
    """This controller's lock for finding-or-creating ``batch_name`` in a location (``controller_lock.py``)."""
    key = (str(client.api_url), str(location_id), str(canonical_name(batch_name)))
    return controller_lock.held(controller_lock.lock_directory(token_store), "voucher", key)


def _age(batch: Mapping[str, Any]) -> tuple[float, str]:
    created_at = batch.get("created_at")
    known = isinstance(created_at, (int, float)) and not isinstance(created_at, bool)
    return (float(created_at) if known else math.inf, str(batch.get("unique_id")))


def settle_twins(resource: VoucherResource, created: dict[str, Any], options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """After this run created ``created``: the batch to go on with, and the ``unique_id`` this run deleted, if any.

    The name is read again with the exact filter. Another batch of that name means another controller (which this
    one's lock does not reach) created it at the same moment. Every run settles on the same one, the oldest (by
    ``created_at``, then ``unique_id``): each deletes the newer batch it created itself, before anybody is handed its
    codes, and never a batch it did not create. The kept batch then gets the options this run asked for.
    """
    twins = resource.same_key(resource.list_all(params={resource.key_filter: created["batch_name"]}), created["batch_name"])
    if not any(twin.get("unique_id") == created["unique_id"] for twin in twins):
        twins.append(created)  # our own, whatever the list shows
    kept = min(twins, key=_age)
    if kept.get("unique_id") == created["unique_id"]:
        return created, []
    try:
        resource.delete(created)
    except ApiError as exc:
        if exc.status != 404:  # a retried DELETE whose first attempt went through
            raise
    deleted = [created["unique_id"]]
    try:
        rest = plan(SHAPE, kept, options)
    except ImmutableFieldError as exc:
        raise CtCloudError(
            f"another run created voucher batch {kept.get('batch_name')!r} at the same moment, with other fixed settings; this run "
            f"kept the older batch ({kept.get('unique_id')}) and deleted the one it created ({created['unique_id']}): {exc}",
            {"field": exc.field, "deleted_twins": deleted, "voucher": kept},
        ) from None
    if rest.action == UPDATE:
        kept = resource.update(kept, rest.payload)
    return kept, deleted
