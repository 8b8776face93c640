# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""CT boxes (access points): selection, MAC spellings, a reboot that converges, rolling batches.

The only file that knows box paths and field names (``docs/api-contract.md``,
"Boxes"). Three things make rebooting boxes harder than it looks:

- The API spells a MAC (``calledstationid``) as ``AA:BB:..`` or ``AA-BB-..``;
  both sides of every comparison are normalised.
- A reboot is an action, not a field value: a replayed ``PATCH`` reboots a box
  twice. It is sent with ``replay_safe=False`` (the transport then retries only
  what the server provably did not process), and an unknown outcome (5xx,
  timeout, reset) is settled by re-reading the box: ``rebooting``, or a boot time
  later than before, means the reboot happened; otherwise it is sent again, a
  bounded number of times.
- Waiting must be concurrent: the boxes of a batch are rebooted together and
  polled together, so N boxes in B batches take about B reboot delays.

A box's boot time is ``last_heartbeat - uptime_seconds`` (both as the API last
reported them) when two readings are compared (the converge check): the same
formula on both sides moves only when the box rebooted. The reboot guard asks
"how long ago?", and the contract leaves open whether ``uptime_seconds`` is as of
the heartbeat or as of now; a heartbeat that lags behind an uptime counted to now
makes a box rebooted seconds ago look older by the lag. So the guard takes the
estimate that errs toward "recently rebooted": the later of that boot time and
``now - uptime_seconds`` (:func:`booted_at_latest`).

Whether a box may be rebooted is read, never learnt from a refusal: the dashboard
disables reboot when a box has ``allowed_job: false`` (offline, or busy with a job),
and CT accepts an action on an offline box to carry it out at its next start, so a
box that is not up, or not allowed a job, is skipped before anything is sent. Box ids
are integers in the dashboard and digit strings in the seed: they are read as strings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import field_errors, with_booleans
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.pagination import concurrently
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import CT_BOX, CT_BOX_LIST
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import find_location, missing_location
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import ActionPlan, action_batches, plan_actions
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import (
    ActionResource,
    PlanRefusedError,
    WaitTimeoutError,
    converge,
    wait_until,
)

BOX_STATES = ("online", "offline", "splash_only", "new", "processing", "rebooting", "upgrading")
UP_STATES = frozenset(("online", "splash_only"))  # serving clients: the states a reboot starts from and returns to
UNREACHABLE_STATES = frozenset(("offline", "new"))  # fail_on_offline applies to these
BUSY_REASONS = {
    "rebooting": "already rebooting",
    "upgrading": "upgrading its firmware; a reboot now could interrupt the upgrade",
    "processing": "busy applying its configuration (state processing)",
}
BOOT_TOLERANCE = 2  # seconds: last_heartbeat and uptime_seconds are whole seconds taken at slightly different moments
REBOOT_POLL_GROWTH = 1.25
MAX_WORKERS = 10  # requests in flight at once (the transport's connection pool holds 10)
SLUG_READS_MAX = 10  # more slugs than this are found in one read of the whole list instead of one GET each
REBOOT = "reboot"
SKIP = "skip"
# CT would hold a reboot for an offline box until its next start: a reboot nobody can wait for.
OFFLINE_REASON = "offline: a reboot would only happen at its next start, so none was sent"
INFO_FILTERS = ("state", "firmware_version", "machine_type", "q")  # CT applies these: they are sent, never re-applied


# -- pure helpers ------------------------------------------------------------


def normal_mac(value: Any) -> str | None:
    """A MAC as ``AA:BB:CC:DD:EE:FF``, or None if ``value`` is not a MAC (API data is not trusted to be one)."""
    try:
        return validation.mac_address(value, "mac")
    except InputError:
        return None


def box_mac(box: Mapping[str, Any]) -> str | None:
    """The box's MAC (its ``calledstationid``), normalised."""
    return normal_mac(box.get("calledstationid"))


def booted_at(box: Mapping[str, Any] | None) -> float | None:
    """When the box last booted (unix seconds): ``last_heartbeat - uptime_seconds``; None if either is unknown."""
    if not box:
        return None
    heartbeat, uptime = box.get("last_heartbeat"), box.get("uptime_seconds")
    if not _number(heartbeat) or not _number(uptime):
        return None
    return float(heartbeat) - float(uptime)


def booted_at_latest(box: Mapping[str, Any] | None, now: float) -> float | None:
    """The latest boot time the box's readings allow: the later of ``last_heartbeat - uptime_seconds`` and
    ``now - uptime_seconds`` (uptime counted up to now, the heartbeat lagging); None if uptime is unknown."""
    if not box or not _number(box.get("uptime_seconds")):
        return None
    since_now = now - float(box["uptime_seconds"])
    since_heartbeat = booted_at(box)
    return since_now if since_heartbeat is None else max(since_now, since_heartbeat)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def rebooted_since(before: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``current`` shows that ``before`` was rebooted: it is rebooting now, or it booted since."""
    if not current:
        return False
    if current.get("state") == "rebooting":
        return True
    then, now = booted_at(before), booted_at(current)
    return then is not None and now is not None and now - then > BOOT_TOLERANCE


def from_reply(box: dict[str, Any]) -> dict[str, Any]:
    """A box as any reply spells it, evened out: ``id`` a digit string, Rails booleans as booleans."""
    box = with_booleans(box, ("is_online", "allowed_job"))
    if isinstance(box.get("id"), int):
        box["id"] = str(box["id"])
    return box


def is_up(box: Mapping[str, Any] | None) -> bool:
    return bool(box) and box.get("state") in UP_STATES and box.get("is_online") is not False


def describe(box: Mapping[str, Any]) -> str:
    """``ap-x1 (MAC AA:.., location some-slug)`` for messages."""
    parts = [f"MAC {box_mac(box) or box.get('calledstationid')}"]
    if box.get("location_slug"):
        parts.append(f"location {box['location_slug']}")
    return f"{box.get('slug')} ({', '.join(parts)})"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass
class Selection:
    """Which boxes the user named, every value already checked."""

    slugs: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.slugs or self.ids or self.macs or self.locations)


def validate_selection(
    slugs: Sequence[Any] | None = None,
    ids: Sequence[Any] | None = None,
    macs: Sequence[Any] | None = None,
    locations: Sequence[Any] | None = None,
) -> Selection:
    """Every selector checked before any request; all bad values reported at once."""
    problems: list[str] = []
    first_field: str | None = None

    def each(values: Sequence[Any] | None, name: str, check: Callable[[Any, str], str]) -> list[str]:
        nonlocal first_field
        clean = []
        for index, value in enumerate(values or []):
            where = name if len(values or []) == 1 else f"{name}[{index}]"
            try:
                clean.append(check(value, where))
            except InputError as exc:
                problems.append(str(exc))
                first_field = first_field or name
        return _unique(clean)

    selection = Selection(
        slugs=each(slugs, "slug", validation.id_or_slug),
        ids=each(ids, "id", validation.digit_id),
        macs=each(macs, "mac", validation.mac_address),
        locations=each(locations, "location", lambda value, where: validation.text(value, where, 1, 200)),
    )
    if problems:
        raise InputError("; ".join(problems), first_field)
    if selection.empty:
        raise InputError("select boxes with slug, id, mac or location (none was given)", "slug")
    return selection


def skip_reason(box: Mapping[str, Any], now: float, rebooted_within: float | None) -> str | None:
    """Why ``box`` is not rebooted, or None when it is."""
    state = box.get("state")
    if state == "offline":
        return OFFLINE_REASON
    if state == "new":
        return "never connected (state new)"
    if state in BUSY_REASONS:
        return BUSY_REASONS[state]
    if state not in UP_STATES:
        return f"state {state!r} is not one a box is rebooted from (online, splash_only)"
    if box.get("allowed_job") is False:
        return "CT allows this box no job now (allowed_job false: a job is running, or it stopped reporting)"
    if rebooted_within is not None:
        boot = booted_at_latest(box, now)
        if boot is not None and now - boot < rebooted_within:
            return f"booted {max(0, int(now - boot))} seconds ago, within skip_if_rebooted_within ({rebooted_within:g})"
    return None


def plan_reboots(
    boxes: Sequence[Mapping[str, Any]],
    now: float,
    batch_size: int | None = None,
    rebooted_within: float | None = None,
) -> list[dict[str, Any]]:
    """One result per box, in selection order: reboot (with its batch number) or skip (with the reason)."""
    return plan_actions(boxes, REBOOT, lambda box: skip_reason(box, now, rebooted_within), reboot_record, batch_size, "rebooted", "slug").steps


def reboot_record(box: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    """A box's entry of the module's ``boxes`` result, with the engine's decision (action, reason, batch)."""
    reason = decision["reason"]
    return {
        "slug": box.get("slug"),
        "id": box.get("id"),
        "mac": box_mac(box),
        "calledstationid": box.get("calledstationid"),
        "location_id": box.get("location_id"),
        "location_slug": box.get("location_slug"),
        "description": box.get("description"),
        "action": decision["action"],
        "reason": reason,
        "batch": decision["batch"],
        "rebooted": False,
        "back_online": None,
        "state_before": box.get("state"),
        "state_after": box.get("state") if reason else None,
        "seconds_to_online": None,
    }


def batches(results: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The results to reboot, grouped by batch number, in order."""
    return action_batches(results, REBOOT)


def has_mac(box: Mapping[str, Any], mac: str | None) -> bool:
    """The one filter applied on our side (the API has none for a MAC): ``mac`` normalised, or no filter."""
    return mac is None or box_mac(box) == mac


class RebootFailure(CtCloudError):
    """The reboot stopped part-way; ``results`` says what was done to each box."""

    def __init__(self, message: str, results: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.results = results


# -- the API -----------------------------------------------------------------


class BoxResource:
    """Box reads, selection and reboots against a :class:`~.ct.CtClient` (or anything with its two methods)."""

    def __init__(
        self,
        client: Any,
        workers: int = MAX_WORKERS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.workers = workers
        self.clock = clock
        self.sleep = sleep

    # -- reading -----------------------------------------------------------

    def get(self, slug: str) -> dict[str, Any] | None:
        try:
            return from_reply(self.client.request("GET", ["boxes", slug], schema=CT_BOX))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_boxes(self, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every box (all pages), with the API's filters: ``location_id`` (a location's slug), q, state, ..."""
        boxes = self.client.list_all(["boxes"], "boxes", CT_BOX_LIST, params={k: v for k, v in (params or {}).items() if v is not None})
        return [from_reply(box) for box in boxes]

    def location_slug(self, ref: str) -> str:
        """The slug the box list's ``location_id`` filter takes, for a location id, slug or name."""
        location = find_location(self.client, ref)
        if location is None:
            raise missing_location(ref)
        return location.get("slug") or str(location["id"])

    def select(self, selection: Selection) -> list[dict[str, Any]]:
        """The boxes the selection names, each once, in the order named. Unknown references fail."""
        chosen: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        whole_list = selection.ids or selection.macs or len(selection.slugs) > SLUG_READS_MAX
        everything = self.list_boxes() if whole_list else None
        if everything is not None:
            by_slug = {box["slug"]: box for box in everything}
            for slug in selection.slugs:
                box = by_slug.get(slug)
                if box is None:
                    missing.append(f"slug {slug!r}")
                else:
                    chosen.setdefault(slug, box)
            by_id = {str(box.get("id")): box for box in everything}
            for box_id in selection.ids:
                box = by_id.get(box_id)
                if box is None:
                    missing.append(f"id {box_id}")
                else:
                    chosen.setdefault(box["slug"], box)
            by_mac: dict[str | None, list[dict[str, Any]]] = {}
            for box in everything:
                by_mac.setdefault(box_mac(box), []).append(box)
            for mac in selection.macs:
                found = by_mac.get(mac, [])
                if len(found) > 1:
                    raise CtCloudError(
                        f"{len(found)} boxes have MAC {mac} ({', '.join(b['slug'] for b in found)}); select them by slug",
                        {"matches": [b["slug"] for b in found]},
                    )
                if not found:
                    missing.append(f"MAC {mac}")
                else:
                    chosen.setdefault(found[0]["slug"], found[0])
        else:
            for slug, box in zip(selection.slugs, concurrently(self.get, selection.slugs, self.workers)):
                if box is None:
                    missing.append(f"slug {slug!r}")
                else:
                    chosen.setdefault(slug, box)
        if missing:
            raise CtCloudError(f"no box has {', '.join(missing)}; nothing was rebooted", {"missing": missing})
        for ref in selection.locations:
            for box in self.list_boxes({"location_id": self.location_slug(ref)}):
                chosen.setdefault(box["slug"], box)
        return list(chosen.values())

    # -- rebooting -----------------------------------------------------------

    def reboot(self, box: Mapping[str, Any]) -> dict[str, Any]:
        """Send one reboot; after an unknown outcome, re-read and resend only if the box did not reboot."""

        def send() -> dict[str, Any]:
            reply = self.client.request("PATCH", ["boxes", box["slug"]], body={"box": {"action": "reboot"}}, schema=CT_BOX, replay_safe=False)
            return from_reply(reply)

        def rebooted() -> dict[str, Any] | None:
            current = self.get(box["slug"])
            return current if rebooted_since(box, current) else None

        return converge(send, rebooted, self.sleep)

    def run(
        self,
        results: list[dict[str, Any]],
        boxes: Mapping[str, Mapping[str, Any]],
        wait: bool,
        wait_timeout: float,
        fail_on_offline: bool = False,
    ) -> list[dict[str, Any]]:
        """Reboot the planned batches in order (updating ``results``); with ``wait``, each batch comes back first."""
        planned = batches(results)
        for number, batch in enumerate(planned, 1):
            sent_at = self.clock()
            replies: dict[str, dict[str, Any]] = {}
            failures = []
            for result, (reply, error) in zip(batch, concurrently(self._reboot_outcome, [boxes[r["slug"]] for r in batch], self.workers)):
                if error is None and reply.get("state") == "offline":
                    # It went offline after it was read: CT took the reboot for its next start. Nothing to wait for.
                    went_offline = "offline: it went offline before the reboot reached it (CT may hold the reboot until its next start)"
                    if fail_on_offline:
                        failures.append(f"{describe(boxes[result['slug']])}: {went_offline}")
                    result.update(action=SKIP, batch=None, state_after="offline", reason=went_offline)
                elif error is None:
                    replies[result["slug"]] = reply
                    result.update(rebooted=True, state_after=reply.get("state"))
                elif _offline_refusal(error) and not fail_on_offline:
                    # It went offline after it was read: the same outcome as finding it offline.
                    result.update(action=SKIP, batch=None, reason="offline: the API refused the reboot (box is offline)", state_after="offline")
                else:
                    failures.append(f"{describe(boxes[result['slug']])}: {error}")
            if failures:
                raise RebootFailure(
                    f"the reboot of {len(failures)} box{'es' if len(failures) > 1 else ''} failed: {'; '.join(failures)}"
                    + _not_started(planned[number:]),
                    results,
                )
            late = self._wait(batch, boxes, replies, sent_at, wait_timeout) if wait else []
            if late:
                names = "; ".join(f"{describe(boxes[r['slug']])}, last state {r['state_after'] or 'unknown (the box is gone)'}" for r in late)
                raise RebootFailure(
                    f"{len(late)} box{'es' if len(late) > 1 else ''} did not come back online within {wait_timeout:g} seconds "
                    f"of the reboot: {names}" + _not_started(planned[number:]),
                    results,
                )
        return results

    def _reboot_outcome(self, box: Mapping[str, Any]) -> tuple[dict[str, Any] | None, CtCloudError | None]:
        try:
            return self.reboot(box), None
        except CtCloudError as exc:
            return None, exc

    def _wait(
        self,
        batch: list[dict[str, Any]],
        boxes: Mapping[str, Mapping[str, Any]],
        replies: Mapping[str, Mapping[str, Any]],
        sent_at: float,
        timeout: float,
    ) -> list[dict[str, Any]]:
        """Poll the batch's rebooted boxes together until all are back; returns the results of those that are not."""
        rebooted = {result["slug"]: result for result in batch if result["rebooted"]}
        # A box is back when it is up after having been seen down. The reboot reply says "rebooting";
        # should it still show the box up, only a later "down" or a newer boot time counts.
        seen_down = {slug for slug in rebooted if not is_up(replies.get(slug))}

        def pending() -> list[str]:
            return [slug for slug, result in rebooted.items() if result["back_online"] is not True]

        first_read = True

        def read() -> list[str]:
            nonlocal first_read
            waiting = pending()
            if first_read and len(seen_down) == len(rebooted):
                first_read = False
                return waiting  # every reply said "down" a moment ago: reading now would only repeat it
            first_read = False
            for slug, box in zip(waiting, concurrently(self.get, waiting, self.workers)):
                result = rebooted[slug]
                result["state_after"] = box.get("state") if box else None
                if not is_up(box):
                    seen_down.add(slug)
                elif slug in seen_down or rebooted_since(boxes[slug], box):
                    result.update(back_online=True, seconds_to_online=round(self.clock() - sent_at, 1))
            return pending()

        try:
            # A batch holds a site's access points down: notice their return within ~25 % of the
            # reboot time rather than up to double it (boxes take a minute or two; polls stay few).
            wait_until(read, lambda waiting: not waiting, timeout, "the reboot", self.clock, self.sleep, growth=REBOOT_POLL_GROWTH)
        except WaitTimeoutError:
            late = [rebooted[slug] for slug in pending()]
            for result in late:
                result["back_online"] = False
            return late
        return []


def _offline_refusal(error: CtCloudError) -> bool:
    return isinstance(error, ApiError) and error.status == 422 and any(
        "offline" in message for message in field_errors(error).get("action", [])
    )


def _not_started(later: Sequence[list[dict[str, Any]]]) -> str:
    """The tail of a failure message, marking the results of the batches that never started."""
    for batch in later:
        for result in batch:
            result["reason"] = "not rebooted: an earlier batch failed"
    count = sum(len(batch) for batch in later)
    if not count:
        return ""
    boxes = f"{count} box{'es' if count > 1 else ''} in {len(later)} later batch{'es' if len(later) > 1 else ''}"
    return f"; {boxes} {'were' if count > 1 else 'was'} not rebooted"


# -- the reboot as an engine action --------------------------------------------


def validate_reboot(params: Mapping[str, Any]) -> Selection:
    """Every option of a reboot checked before any request; returns the selection."""
    selection = validate_selection(params["slug"], params["id"], params["mac"], params["location"])
    if params["batch_size"] is not None:
        validation.integer(params["batch_size"], "batch_size", 1, 100000)
        if not params["wait"]:
            raise InputError("batch_size needs wait: true; without waiting, every batch would be down at the same time", "batch_size")
    validation.integer(params["wait_timeout"], "wait_timeout", 0, 86400)
    if params["skip_if_rebooted_within"] is not None:
        validation.integer(params["skip_if_rebooted_within"], "skip_if_rebooted_within", 0, 10 * 365 * 86400)
    return selection


class BoxReboots(ActionResource):
    """The reboot of selected boxes as an action the engine plans (:func:`~.engine.plan_actions`) and the
    :class:`~.resource.ActionRunner` carries out; :class:`BoxResource` does the reads and the rolling batches."""

    action = REBOOT
    done = "rebooted"
    key = "slug"
    noun = "box"
    subject = "CT boxes"

    def __init__(
        self,
        boxes: BoxResource,
        now: float,
        wait: bool = True,
        wait_timeout: float = 300,
        fail_on_offline: bool = False,
        rebooted_within: float | None = None,
    ) -> None:
        self.boxes = boxes
        self.now = now  # the clock skip_if_rebooted_within compares boot times with, read once
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.fail_on_offline = fail_on_offline
        self.rebooted_within = rebooted_within

    def skip_reason(self, obj: Mapping[str, Any]) -> str | None:
        return skip_reason(obj, self.now, self.rebooted_within)

    def record(self, obj: Mapping[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
        return reboot_record(obj, decision)

    def refuse(self, plan: ActionPlan) -> None:
        # fail_on_offline is about the selection as read: a box that cannot reboot now fails the task before any is sent.
        if not self.fail_on_offline:
            return
        unreachable = [box for box in plan.objects if box.get("state") in UNREACHABLE_STATES]
        if unreachable:
            names = "; ".join(f"{describe(box)} is {box['state']}" for box in unreachable)
            raise PlanRefusedError(f"fail_on_offline: {names}; nothing was rebooted", {"offline": [box["slug"] for box in unreachable]})

    def predicted(self, step: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"state_after": "online" if self.wait else "rebooting"}

    def carry_out(self, plan: ActionPlan) -> None:
        self.boxes.run(plan.steps, {box["slug"]: box for box in plan.objects}, self.wait, self.wait_timeout, self.fail_on_offline)

    def outcome(self) -> str:
        return "reboot, then wait until it is back up" if self.wait else "reboot"

    def detail(self, step: Mapping[str, Any]) -> str:
        return f"MAC {step['mac'] or step['calledstationid']}, location {step['location_slug'] or 'none'}"

    def state(self, step: Mapping[str, Any]) -> Any:
        return step["state_before"]

    def afterwards(self) -> str:
        return "all back online" if self.wait else "not waited for"


def reboot_summary(plan: ActionPlan) -> dict[str, Any]:
    """The module's result lists, from the plan (carried out, or predicted in check mode)."""
    return {
        "boxes": plan.steps,
        "rebooted": plan.names(plan.carried_out),
        # Not "skipped": Ansible takes a truthy result["skipped"] for a skipped task (recap, callbacks, `is skipped`).
        "skipped_boxes": plan.names(plan.skipped),
        "batches": len(plan.batches),
    }
