# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""Carrying out plans: the adapter interface every resource implements, and the runner.

The engine (``engine.py``) decides; this file acts. A :class:`Resource` adapter
is the only code that knows a resource's API paths. The :class:`Runner` applies
a plan through it, honouring check mode, and converges when a create's outcome
is unknown: a POST is never resent blindly (the transport does not retry it
after a 5xx or a timeout), so the runner re-reads by natural key and only
creates again if the object is still missing.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence, TypeVar

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import (
    CREATE,
    DELETE,
    NOTHING,
    UPDATE,
    ActionPlan,
    Plan,
    SetPlan,
    Shape,
    index_by_key,
    only_match,
    plan,
    plan_actions,
    plan_set,
)

CONVERGE_ATTEMPTS = 5
CONVERGE_PAUSE = 0.25  # seconds, doubled per attempt
WAIT_FIRST_PAUSE = 0.2  # seconds between reads while waiting, doubled per read...
WAIT_MAX_PAUSE = 5.0  # ...up to this

T = TypeVar("T")


class WaitTimeoutError(CtCloudError):
    """Something the API does asynchronously did not finish in the time the user allowed."""


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    growth: float = 2.0,
) -> T:
    """``read()`` until ``done(result)``, for at most ``timeout`` seconds, with growing pauses.

    Each pause is ``growth`` times the last (up to WAIT_MAX_PAUSE), so something that finishes after
    ``t`` seconds is noticed by about ``growth * t``: 2 keeps reads few, a smaller factor notices sooner.
    Returns the first result that is done; raises :class:`WaitTimeoutError` (the last result in its
    details as ``last``) when the time is up. ``read`` is called at least once, even with timeout 0.
    """
    deadline = clock() + timeout
    pause = WAIT_FIRST_PAUSE
    while True:
        result = read()
        if done(result):
            return result
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeoutError(f"{what} did not finish within {timeout:g} seconds", {"last": result})
        sleep(min(pause, remaining))
        pause = min(pause * growth, WAIT_MAX_PAUSE)


def converge(write: Callable[[], T], look: Callable[[], T | None], sleep: Callable[[float], None] = time.sleep) -> T:
    """``write()``; after an attempt whose outcome is unknown, write again only if ``look()`` finds it did not happen.

    For writes the transport never resends (a create, a reboot): after a retryable error (5xx,
    timeout, reset) the write may have gone through, so ``look()`` reads what it would have done
    and returns that, or None to write again. At most CONVERGE_ATTEMPTS writes, with doubling pauses.
    """
    for attempt in range(1, CONVERGE_ATTEMPTS + 1):
        try:
            return write()
        except ApiError as exc:
            if not exc.retryable or attempt == CONVERGE_ATTEMPTS:
                raise
            found = look()
            if found is not None:
                return found
            sleep(CONVERGE_PAUSE * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


class DeleteRefusedError(ApiError):
    """The API understood a delete and will not do it (a location with session data): nothing was deleted.

    ``reason`` is the API's own sentence, ``subject`` names the object (``'Old Depot' (id 1002)``), ``instead``
    what the user can do rather than delete it, ``api_name`` who refused (the adapter's :attr:`Resource.api_name`).
    """

    def __init__(self, exc: ApiError, subject: str, instead: str, api_name: str = "the API") -> None:
        super().__init__(f"{api_name} refused to delete {subject}: {exc.message.rstrip('.')}. {instead}", exc.method, exc.url, exc.status, exc.details)
        self.reason = exc.message.rstrip(".")
        self.subject = subject
        self.instead = instead


class SetApplyError(CtCloudError):
    """Applying a declared set stopped, or went on past refusals and failed at the end; ``results`` and ``done`` say what happened."""

    def __init__(self, message: str, details: dict[str, Any], results: list[dict[str, Any] | None], done: dict[str, list[str]]) -> None:
        super().__init__(message, details)
        self.results = results
        self.done = done


class Resource:
    """How one kind of API object is found, created, updated and deleted.

    A subclass names its API: ``path()``, the reply shapes, the body's wrapper key and the id field.
    """

    shape: Shape
    new_defaults: dict[str, Any] = {}
    required_on_create: Sequence[str] = ()  # options the API needs to create one
    id_field = "id"
    body_key = ""  # a write's body is {body_key: fields}
    schema: dict[str, Any] = {}  # the reply shape of one object
    list_key = ""  # the list reply's item key
    list_schema: dict[str, Any] = {}
    # The list filter that matches the natural key exactly (and at once). Never `q`: a search may split
    # words, and lag behind writes, so "not found by q" does not mean "does not exist".
    key_filter = ""
    # Who answers, as messages name it ("CT rejected the location: ..."): the adapter knows its vendor, the runner does not.
    api_name = "the API"
    # A rename may not take a name another object holds: that name would then match several, and every
    # later task declaring it would fail as ambiguous.
    unique_key_on_rename = False

    def __init__(self, client: Any) -> None:
        self.client = client

    def path(self, *rest: Any) -> list[Any]:
        """The API path segments of the collection, or of one object with ``rest``."""
        raise NotImplementedError

    # -- reading -----------------------------------------------------------

    def find(self, options: Mapping[str, Any]) -> dict[str, Any] | None:
        """The object the options name (by id or natural key), or None."""
        if options.get("id") is not None:
            return self.get(options["id"])
        return self.find_by_key(options[self.shape.key])

    def get(self, object_id: Any) -> dict[str, Any] | None:
        """The object with this id, or None if the API answers 404."""
        try:
            return self.from_reply(self.client.request("GET", self.path(object_id), schema=self.schema))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def find_by_key(self, key_value: Any) -> dict[str, Any] | None:
        """The one object whose natural key is ``key_value`` (see :meth:`all_by_key`); several are an error listing them."""
        return only_match(self.shape, self.all_by_key(key_value), key_value, self.id_field)

    def all_by_key(self, key_value: Any) -> list[dict[str, Any]]:
        """Every object whose natural key is ``key_value``, compared as the key field compares (stripped, NFC).

        The exact filter is asked first, with the value as the user wrote it. It compares case, spaces and Unicode
        normalisation exactly, so a name stored with stray spaces or in another normal form is not among its
        answers: when it finds nothing, the plain list (every page, no ``q``: the list is authoritative, the search
        index is not) settles it before anyone concludes "missing, so create". Creates are rare; the read is cheap.
        """
        return self.same_key(self.list_all(params={self.key_filter: key_value}), key_value) or self.same_key(self.list_all(), key_value)

    def same_key(self, candidates: Sequence[dict[str, Any]], key_value: Any) -> list[dict[str, Any]]:
        return index_by_key(self.shape, candidates).get(self.shape.by_option[self.shape.key].compare(key_value), [])

    def list_all(self, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [self.from_reply(item) for item in self.client.list_all(self.path(), self.list_key, self.list_schema, params=params)]

    def from_reply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """One object of a reply in the form the rest of the collection reads (see a subclass for what it evens out)."""
        return obj

    def query(self, object_id: Any = None, key_value: Any = None, q: str | None = None) -> list[dict[str, Any]]:
        """What an info module lists: the object with ``object_id``, else those ``q`` finds; only exact ``key_value`` matches if given."""
        if object_id is None and not q and key_value is not None:
            return self.all_by_key(key_value)  # the exact filter, then the plain list when it finds nothing
        if object_id is not None:
            found = self.get(object_id)
            candidates = [found] if found else []
        else:
            params = {}
            if q:
                params["q"] = q
            if key_value is not None:
                params[self.key_filter] = key_value  # exact and immediate; compared again below
            candidates = self.list_all(params=params or None)
        if key_value is None:
            return candidates
        return self.same_key(candidates, key_value)

    # -- writing -----------------------------------------------------------

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._write("POST", self.path(), payload)

    def update(self, current: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        return self._write("PATCH", self.path(current[self.id_field]), payload)

    def delete(self, current: dict[str, Any]) -> None:
        self.client.request("DELETE", self.path(current[self.id_field]))

    def _write(self, method: str, segments: list[Any], payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.from_reply(self.client.request(method, segments, body={self.body_key: payload}, schema=self.schema))
        except ApiError as exc:
            raise self.explain(exc) from None

    # -- reporting ---------------------------------------------------------

    def outcome(self, item: Plan) -> str:
        return {CREATE: "created", UPDATE: "updated", DELETE: "deleted", NOTHING: "unchanged"}[item.action]

    def missing_for_create(self, options: Mapping[str, Any]) -> list[str]:
        return [name for name in self.required_on_create if options.get(name) is None]

    def invalid_for_create(self, options: Mapping[str, Any], where: str = "") -> list[str]:
        """Rules that apply only when creating (the API's create form is stricter than its edit form)."""
        return []

    def field_errors(self, exc: ApiError) -> dict[str, list[str]]:
        """A refusal's messages by API field, read from the error shape of the adapter's API; {} names no field.

        The runner never parses a vendor's error body itself: an adapter of another API overrides this.
        """
        return {}

    def lost_create_race(self, exc: ApiError) -> bool:
        """Whether a refused create objects to the natural key ("has already been taken"): a server that keeps names
        unique says so when another run created the object between our read and our create."""
        return exc.status == 422 and self.shape.by_option[self.shape.key].api in self.field_errors(exc)

    def rename_conflict(self, item: Plan, holders: Sequence[Mapping[str, Any]], where: str = "") -> str | None:
        """Why ``item`` may not rename its object (another of ``holders`` has the new name), or None."""
        key_api = self.shape.by_option[self.shape.key].api
        if not self.unique_key_on_rename or item.action != UPDATE or key_api not in item.payload or item.current is None:
            return None
        own_id = str(item.current.get(self.id_field))
        others = [str(holder.get(self.id_field)) for holder in holders if str(holder.get(self.id_field)) != own_id]
        if not others:
            return None
        name = self.shape.name
        held = f"{name} {others[0]} has" if len(others) == 1 else f"{name}s {', '.join(others)} have"
        return (
            f"{where}{name} {self.shape.key_of(item.current)!r} (id {own_id}) cannot be renamed to {item.payload[key_api]!r}: "
            f"{held} that name (archived or not), and the name would then match several; rename or delete "
            f"{'it' if len(others) == 1 else 'them'} first"
        )

    def explain(self, exc: ApiError) -> ApiError:
        """A 422's field messages in the user's option names (``postcode``, not ``postcode``'s API twin)."""
        fields = self.field_errors(exc)
        if exc.status != 422 or not fields:
            return exc
        named = []
        for api_field, messages in fields.items():
            spec = self.shape.by_api.get(api_field)
            name = spec.option if spec else api_field
            named.append(f"{name} {', '.join(messages)}")
        exc.message = f"{self.api_name} rejected the {self.shape.name}: {'; '.join(named)}"
        return exc


class Runner:
    def __init__(self, resource: Resource, check_mode: bool = False) -> None:
        self.resource = resource
        self.check_mode = check_mode

    def plan_one(self, options: Mapping[str, Any], absent: bool = False) -> Plan:
        current = self.resource.find(options)
        item = plan(self.resource.shape, current, None if absent else options, self.resource.new_defaults)
        if item.action == CREATE and options.get("id") is not None:
            raise InputError(f"{self.resource.shape.name} id {options['id']} does not exist (an id cannot be chosen when creating)", "id")
        if item.action == CREATE:
            missing = self.resource.missing_for_create(options)
            if missing:
                name = options.get(self.resource.shape.key)
                raise InputError(
                    f"{self.resource.shape.name} {name!r} does not exist; creating it needs {', '.join(missing)}",
                    missing[0],
                )
            invalid = self.resource.invalid_for_create(options)
            if invalid:
                raise InputError("; ".join(invalid), self.resource.shape.key)
        key_api = self.resource.shape.by_option[self.resource.shape.key].api
        if self.resource.unique_key_on_rename and item.action == UPDATE and key_api in item.payload:
            holders = self.resource.all_by_key(item.payload[key_api])
            conflict = self.resource.rename_conflict(item, holders)
            if conflict:
                raise CtCloudError(conflict, {"field": self.resource.shape.key, "matches": [self.resource.shape.view(h) for h in holders]})
        return item

    def apply(self, item: Plan, options: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Carry out ``item``; returns the object as it now is (as predicted, in check mode)."""
        if not item.changed or self.check_mode:
            return item.predicted
        if item.action == DELETE:
            self._delete(item.current)
            return None
        if item.action == UPDATE:
            return self.resource.update(item.current, item.payload)
        created, made_by_another_run = self._create(item)
        # What the create did not set (fields only an update accepts, or what a converged
        # object lacks) is sent once more as an update; normally that is just the follow-up.
        rest = plan(self.resource.shape, created, options or {}, self.resource.new_defaults)
        if rest.action == UPDATE:
            created = self.resource.update(created, rest.payload)
        if made_by_another_run:
            item.settle(rest)
        return created

    def _delete(self, current: dict[str, Any]) -> None:
        try:
            self.resource.delete(current)
        except ApiError as exc:
            if exc.status != 404:  # a retried DELETE whose first attempt went through
                raise

    def _create(self, item: Plan) -> tuple[dict[str, Any], bool]:
        """The object created, and whether it was found made by another run instead (the create lost a race for its name)."""
        key_value = self.resource.shape.key_of(item.payload)
        try:
            # Unknown outcome: look for the object by its natural key before creating it again.
            return converge(lambda: self.resource.create(item.payload), lambda: self.resource.find_by_key(key_value)), False
        except ApiError as exc:
            # "has already been taken": another run created it since we read. Converge on it as on an unknown outcome.
            found = self.resource.find_by_key(key_value) if self.resource.lost_create_race(exc) else None
            if found is None:
                raise
            return found, True

    # -- sets --------------------------------------------------------------

    def plan_set(
        self,
        entries: Sequence[Mapping[str, Any]],
        purge: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None,
    ) -> SetPlan:
        current = self.resource.list_all()
        key_holders = index_by_key(self.resource.shape, current)
        key_compare = self.resource.shape.by_option[self.resource.shape.key].compare
        key_api = self.resource.shape.by_option[self.resource.shape.key].api

        def rename_conflicts(index: int, item: Plan) -> list[str]:
            if item.action != UPDATE or key_api not in item.payload:
                return []
            holders = key_holders.get(key_compare(item.payload[key_api]), [])
            conflict = self.resource.rename_conflict(item, holders, f"{self.resource.list_key}[{index}]: ")
            return [conflict] if conflict else []

        return plan_set(
            self.resource.shape,
            current,
            entries,
            purge,
            self.resource.new_defaults,
            missing_for_create=self.resource.missing_for_create,
            invalid_for_create=lambda index, entry: self.resource.invalid_for_create(entry, f"{self.resource.list_key}[{index}]"),
            invalid_plan=rename_conflicts,
        )

    def apply_set(self, set_plan: SetPlan, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Apply every plan in order. A refused delete is reported and the rest still applied, and the set then
        fails listing every refusal; any other failure stops at once. Either failure says what was already done."""
        results: list[dict[str, Any] | None] = []
        done: dict[str, list[str]] = {}
        refused: list[tuple[str, DeleteRefusedError]] = []
        name = self.resource.shape.name
        for index, (label, item) in enumerate(zip(set_plan.labels, set_plan.plans)):
            options = entries[index] if index < len(entries) else None
            try:
                results.append(self.apply(item, options))
            except DeleteRefusedError as exc:
                refused.append((label, exc))
                results.append(item.current)  # it is still there, as it was
                continue
            except CtCloudError as exc:
                raise SetApplyError(
                    f"{exc} (while applying {name} {label!r}; {_so_far(done, refused)})",
                    dict(exc.details, done=done, refused=[label for label, _exc in refused]),
                    results,
                    done,
                ) from None
            done.setdefault(self.resource.outcome(item), []).append(label)
        if refused:
            by_reason: dict[str, list[str]] = {}
            for _label, exc in refused:
                by_reason.setdefault(exc.reason, []).append(exc.subject)
            reasons = "; ".join(f"{reason} ({', '.join(subjects)})" for reason, subjects in by_reason.items())
            raise SetApplyError(
                f"{self.resource.api_name} refused to delete {len(refused)} {name}{'s' if len(refused) > 1 else ''}: {reasons}. {refused[0][1].instead}. "
                f"Everything else was applied ({_so_far(done, [])})",
                {"done": done, "refused": [label for label, _exc in refused]},
                results,
                done,
            )
        return results


def _so_far(done: Mapping[str, list[str]], refused: Sequence[tuple[str, DeleteRefusedError]]) -> str:
    summary = "; ".join(f"{outcome}: {', '.join(names)}" for outcome, names in done.items() if outcome != "unchanged")
    text = f"already done: {summary or 'nothing'}"
    if refused:
        text += f"; refused to delete: {', '.join(label for label, _exc in refused)}"
    return text


# -- actions -------------------------------------------------------------------


class PlanRefusedError(CtCloudError):
    """An adapter refused a whole action plan before anything was done (:meth:`ActionResource.refuse`)."""


class ActionResource:
    """How an action (a reboot) is done to objects of one kind: what the engine needs to plan it, and the doing.

    The counterpart of :class:`Resource` for changes that are actions rather than field values
    (:class:`~.engine.ActionPlan`). A subclass names the action and its words, decides per object, and
    carries a plan out.
    """

    action = ""  # the verb: "reboot"
    done = "done"  # the step key set once the action was carried out, and the past tense in messages
    key = "name"  # the step key that names an object
    noun = "object"  # one object, in messages ("box")
    subject = ""  # what the diff's "before" shows ("CT boxes")

    def skip_reason(self, obj: Mapping[str, Any]) -> str | None:
        """Why ``obj`` is left out, or None when the action is done to it."""
        raise NotImplementedError

    def record(self, obj: Mapping[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
        """The step (a result entry) for ``obj`` with the engine's ``decision`` (``action``, ``reason``, ``batch``)."""
        return dict(decision, **{self.key: obj.get(self.key), self.done: False})

    def refuse(self, plan: ActionPlan) -> None:
        """Raise to refuse the whole plan before anything is done (in check mode too); by default nothing is refused."""

    def predicted(self, step: Mapping[str, Any]) -> Mapping[str, Any]:
        """Check mode: what an acting step will show once the action is done."""
        return {}

    def carry_out(self, plan: ActionPlan) -> None:
        """Do the plan's batches in order, updating its steps (the ``done`` key, and the action and reason of a step
        that turned out not to be possible); a failure part-way raises, the steps saying what was done."""
        raise NotImplementedError

    # -- words for the diff and the message ------------------------------------

    def outcome(self) -> str:
        """What the action does to an object, for the diff's "after" (``reboot``)."""
        return self.action

    def detail(self, step: Mapping[str, Any]) -> str:
        """Which object a step is, beside its name in the diff."""
        return ""

    def state(self, step: Mapping[str, Any]) -> Any:
        """An object's state before the action, for the diff."""
        return ""

    def afterwards(self) -> str:
        """What the message adds after a run that did the action ("all back online")."""
        return "done"


class ActionRunner:
    """Plans an action with the engine and carries it out through the adapter, honouring check mode."""

    def __init__(self, resource: ActionResource, check_mode: bool = False) -> None:
        self.resource = resource
        self.check_mode = check_mode

    def plan(self, objects: Sequence[Mapping[str, Any]], batch_size: int | None = None) -> ActionPlan:
        r = self.resource
        return plan_actions(objects, r.action, r.skip_reason, r.record, batch_size, r.done, r.key)

    def apply(self, item: ActionPlan) -> list[dict[str, Any]]:
        """Carry out ``item`` (in check mode, predict it); returns its steps. A failure part-way leaves the plan
        saying what was done, so ``item.changed`` stays right for the failure's result."""
        item.predicting = self.check_mode
        self.resource.refuse(item)
        if self.check_mode:
            item.predict(self.resource.predicted)
        else:
            self.resource.carry_out(item)
        return item.steps

    def message(self, item: ActionPlan) -> str:
        return item.message(self.resource.noun, self.check_mode, self.resource.afterwards())

    def diff(self, item: ActionPlan) -> dict[str, Any]:
        return item.diff(self.resource.subject, self.resource.outcome(), self.resource.detail, self.resource.state)
