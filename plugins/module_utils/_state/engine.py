# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""Desired state as data: (what exists, what the user wants) -> a plan. No I/O.

Because planning never touches the network, check mode is "plan and stop" and
the diff is a rendering of the plan: what ``--check --diff`` shows is exactly
what the real run then does.

Vocabulary:

- a :class:`Field` maps one module option (the user's word, ``address``) to one
  API field (``location_address``), with how to compare and convert it;
- a :class:`Shape` is a resource's fields and natural key;
- :func:`plan` decides create / update / delete / nothing for one object;
- :func:`plan_set` does it for a whole declared set, with purge;
- :func:`plan_actions` plans an action (a reboot) rather than field values: which
  objects get it, in which batch, and which are skipped and why (:class:`ActionPlan`).

Only options the user gave are compared and sent: an option left unset (None)
never means "set this field to null".
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError, InputError

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
NOTHING = "none"
_PREDICTED: Any = object()  # "no result given: show the prediction"
KNOWN_AFTER_CREATE = "(known after create)"
KNOWN_AFTER_UPDATE = "(known after update)"


def _same_value(value: Any) -> Any:
    return value


def canonical(value: Any) -> Any:
    """The comparison form of a value: strings stripped, blank == null, floats rounded to 1e-6."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 6)
    return value


def canonical_name(value: Any) -> Any:
    """The comparison form of a natural key (a location's or a batch's name): :func:`canonical`, in Unicode NFC.

    NFC because "Café" typed on one keyboard (one code point for é) and pasted from another (e plus a combining
    accent) is the same name to every reader: comparing code points would make a visually identical twin. Only
    names compare so; the value sent is always the one the user wrote.
    """
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value)
    return canonical(value)


@dataclass(frozen=True)
class Field:
    option: str
    api: str
    mutable: bool = True  # may change after creation
    on_create: bool = True  # sent with the create request (False: set by an update right after it)
    to_api: Callable[[Any], Any] = _same_value
    from_api: Callable[[Any], Any] = _same_value
    compare: Callable[[Any], Any] = canonical


class Shape:
    """A resource's fields and its natural key (an option name)."""

    def __init__(
        self,
        name: str,
        fields: Sequence[Field],
        key: str,
        identity: Sequence[str] = (),
        derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        recomputed: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.name = name
        self.fields = tuple(fields)
        self.key = key
        self.identity = tuple(identity)  # API fields that identify an object (id, slug) shown in views
        # API field -> identity fields the server computes anew when it changes (a location's slug follows its name),
        # so that a prediction does not claim their old values.
        self.recomputed = {api: tuple(fields) for api, fields in (recomputed or {}).items()}
        # API fields the server computes from others (a location's `archived` mirrors its `state`), so that
        # a prediction shows them as the server will.
        self.derive = derive
        self.by_option = {f.option: f for f in self.fields}
        self.by_api = {f.api: f for f in self.fields}
        if key not in self.by_option:
            raise ValueError(f"natural key {key!r} is not a field of {name}")

    def api_values(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The API fields for the options that were given (not None), converted."""
        return {f.api: f.to_api(options[f.option]) for f in self.fields if options.get(f.option) is not None}

    def key_of(self, obj: Mapping[str, Any]) -> Any:
        return obj.get(self.by_option[self.key].api)

    def view(self, obj: Mapping[str, Any] | None, predicted_create: bool = False, unknown: Sequence[str] = ()) -> dict[str, Any]:
        """An API object in the user's words: identity fields, then every managed option.

        For a create that has not happened yet, what only the server will decide (its id, and
        fields the user did not give that the contract names no default for) is shown as
        ``KNOWN_AFTER_CREATE`` rather than claimed to be null; identity fields an update will
        make the server recompute (``unknown``) as ``KNOWN_AFTER_UPDATE``.
        """
        if obj is None:
            return {}
        if not predicted_create:
            shown = {api: KNOWN_AFTER_UPDATE if api in unknown else obj.get(api) for api in self.identity}
            shown.update((f.option, f.from_api(obj.get(f.api))) for f in self.fields)
            return shown
        shown = {api: KNOWN_AFTER_CREATE if obj.get(api) is None else obj[api] for api in self.identity}
        shown.update((f.option, f.from_api(obj[f.api]) if f.api in obj else KNOWN_AFTER_CREATE) for f in self.fields)
        return shown

    def same(self, api: str, current: Any, wanted: Any) -> bool:
        compare = self.by_api[api].compare
        return compare(current) == compare(wanted)


class ImmutableFieldError(InputError):
    """The user asked to change a field the API fixes at creation."""


class AmbiguousKeyError(CtCloudError):
    """A natural key matches several objects: we never pick one."""


@dataclass
class Plan:
    action: str
    shape: Shape
    current: dict[str, Any] | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # API fields sent by the create/update
    followup: dict[str, Any] = field(default_factory=dict)  # API fields sent by an update right after a create
    new_defaults: dict[str, Any] = field(default_factory=dict)  # what the server sets on create

    @property
    def changed(self) -> bool:
        return self.action != NOTHING

    def settle(self, actual: Plan) -> None:
        """Become ``actual``, what was really done: a planned create that found the object made meanwhile by
        another run updated it, or did nothing, and must not be reported as a create."""
        self.action, self.current, self.payload, self.followup = actual.action, actual.current, actual.payload, actual.followup

    @property
    def recomputed(self) -> tuple[str, ...]:
        """Identity fields the server will compute anew because this update changes what they follow."""
        if self.action != UPDATE:
            return ()
        return tuple(dict.fromkeys(field for api in self.payload for field in self.shape.recomputed.get(api, ())))

    @property
    def predicted(self) -> dict[str, Any] | None:
        """The API object as it will be after the plan is carried out (null where only the server will know)."""
        if self.action == DELETE or (self.current is None and self.action == NOTHING):
            return None  # deleted, or absent and already missing
        if self.action == CREATE:
            predicted = dict(self.new_defaults, **self.payload, **self.followup)
        else:
            predicted = dict(self.current or {}, **self.payload, **dict.fromkeys(self.recomputed))
        return self.shape.derive(predicted) if self.shape.derive else predicted

    @property
    def changes(self) -> dict[str, dict[str, Any]]:
        """``{option: {"before": ..., "after": ...}}`` for every field the plan sets."""
        before = self.current or {}
        sent = dict(self.payload, **self.followup)
        result = {}
        for api, value in sent.items():
            spec = self.shape.by_api[api]
            result[spec.option] = {"before": spec.from_api(before.get(api)) if self.current else None, "after": spec.from_api(value)}
        return result

    def diff(self, result: Any = _PREDICTED) -> dict[str, Any]:
        """Before and after in the user's words; ``result`` is the object the API returned, if it ran."""
        after = self.predicted if result is _PREDICTED else result
        label = f"{self.shape.name} {self.shape.key_of(self.current or after or {})!r}"
        predicting = result is _PREDICTED
        return {
            "before": self.shape.view(self.current),
            "after": self.shape.view(after, predicted_create=predicting and self.action == CREATE, unknown=self.recomputed if predicting else ()),
            "before_header": label if self.current else "(absent)",
            "after_header": label if self.action != DELETE else "(absent)",
        }


def plan(
    shape: Shape,
    current: Mapping[str, Any] | None,
    wanted: Mapping[str, Any] | None,
    new_defaults: Mapping[str, Any] | None = None,
) -> Plan:
    """One object. ``wanted`` is the user's options (None values = not given), or None for "absent"."""
    current = dict(current) if current is not None else None
    if wanted is None:
        return Plan(DELETE if current is not None else NOTHING, shape, current)
    desired = shape.api_values(wanted)
    if current is None:
        payload = {api: value for api, value in desired.items() if shape.by_api[api].on_create}
        followup = {api: value for api, value in desired.items() if not shape.by_api[api].on_create}
        # A follow-up equal to what the server sets anyway is no write at all.
        followup = {api: v for api, v in followup.items() if not shape.same(api, (new_defaults or {}).get(api), v)}
        return Plan(CREATE, shape, None, payload, followup, dict(new_defaults or {}))
    changed = {api: value for api, value in desired.items() if not shape.same(api, current.get(api), value)}
    fixed = [api for api in changed if not shape.by_api[api].mutable]
    if fixed:
        details = ", ".join(
            f"{shape.by_api[api].option} (is {shape.by_api[api].from_api(current.get(api))!r}, wanted {shape.by_api[api].from_api(changed[api])!r})"
            for api in fixed
        )
        raise ImmutableFieldError(
            f"{shape.name} {shape.key_of(current)!r}: {details} cannot change after creation; "
            f"delete it (state: absent) and create it again, or keep the current value",
            shape.by_api[fixed[0]].option,
        )
    return Plan(UPDATE if changed else NOTHING, shape, current, changed)


def index_by_key(shape: Shape, objects: Iterable[Mapping[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Objects grouped by natural key, compared the way the field compares (so ' A ' is 'A')."""
    compare = shape.by_option[shape.key].compare
    index: dict[Any, list[dict[str, Any]]] = {}
    for obj in objects:
        index.setdefault(compare(shape.key_of(obj)), []).append(dict(obj))
    return index


def only_match(shape: Shape, matches: Sequence[Mapping[str, Any]], key_value: Any, id_field: str = "id") -> dict[str, Any] | None:
    """The single object a natural key names; several are an error that lists them."""
    if len(matches) > 1:
        ids = ", ".join(str(m.get(id_field)) for m in matches)
        raise AmbiguousKeyError(
            f"{len(matches)} {shape.name}s are named {key_value!r} (ids {ids}); refer to one by id",
            {"matches": [shape.view(m) for m in matches]},
        )
    return dict(matches[0]) if matches else None


@dataclass
class SetPlan:
    """Plans for a declared set, in the order of the declaration, then the purged objects."""

    shape: Shape
    plans: list[Plan]
    labels: list[str]  # the natural key of each plan, for the result lists

    def by_outcome(self, outcome: Callable[[Plan], str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for label, item in zip(self.labels, self.plans):
            result.setdefault(outcome(item), []).append(label)
        return result

    @property
    def changed(self) -> bool:
        return any(p.changed for p in self.plans)

    def diff(self, results: Sequence[Mapping[str, Any] | None] | None = None) -> dict[str, Any]:
        """The whole set before and after, keyed by natural key; unchanged entries give the context lines.

        ``results`` are the objects the API returned, one per plan, when the plans were carried out.
        """
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        outcomes = results if results is not None else [item.predicted for item in self.plans]
        for label, item, outcome in zip(self._unique_labels(), self.plans, outcomes):
            if item.current is not None:
                before[label] = self.shape.view(item.current)
            if outcome is not None:
                after[label] = self.shape.view(outcome, predicted_create=results is None and item.action == CREATE,
                                               unknown=item.recomputed if results is None else ())
        return {"before": before, "after": after}

    def _unique_labels(self) -> list[str]:
        # Unmanaged objects may share a name; the diff must still show each of them.
        seen: dict[str, int] = {}
        unique = []
        for label in self.labels:
            seen[label] = seen.get(label, 0) + 1
            unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
        return unique


class SetProblemsError(InputError):
    """Several entries of a declared set cannot be planned; every one is reported at once."""


def _all_at_once(problems: list[CtCloudError]) -> CtCloudError:
    """One error for every problem of a set: a lone problem as it is, several joined (their details merged)."""
    if len(problems) == 1 and not isinstance(problems[0], SetProblemsError):
        return problems[0]
    details: dict[str, Any] = {}
    for problem in problems:
        for name, value in problem.details.items():
            if isinstance(value, list):
                details.setdefault(name, []).extend(value)
            else:
                details.setdefault(name, value)
    error = SetProblemsError(f"nothing was changed: {'; '.join(problem.message for problem in problems)}")
    error.details, error.field = details, details.get("field")
    return error


def plan_set(
    shape: Shape,
    current: Sequence[Mapping[str, Any]],
    wanted: Sequence[Mapping[str, Any]],
    purge: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None = None,
    new_defaults: Mapping[str, Any] | None = None,
    id_field: str = "id",
    id_option: str = "id",
    missing_for_create: Callable[[Mapping[str, Any]], list[str]] | None = None,
    invalid_for_create: Callable[[int, Mapping[str, Any]], list[str]] | None = None,
    invalid_plan: Callable[[int, Plan], list[str]] | None = None,
) -> SetPlan:
    """Plans for a declared set.

    Each entry of ``wanted`` is a dict of options, plus ``"_absent": True`` when the object must
    not exist. An entry with an ``id`` option is matched by id or another identity field of the
    shape (so it can rename); the others by natural key. Objects no entry names get ``purge(obj)``: the options to apply (e.g. archive),
    or ``None`` to delete them; without ``purge`` they are left alone and not planned.

    Every entry is planned before anything is reported: an unknown id, a name shared by several
    objects, a field that cannot change, or (with ``missing_for_create``) what a create lacks and
    (with ``invalid_for_create``, given the entry's index) the rules only a create has, and (with
    ``invalid_plan``, given the index and the plan) what is wrong with a planned change (a rename onto a
    name another object holds), for all entries together in one error.
    """
    by_key = index_by_key(shape, current)
    by_id = {str(obj.get(id_field)): dict(obj) for obj in current}
    for obj in current:
        # An entry's id may be any identity field (a location's slug), as read in this same listing.
        for name in shape.identity:
            if name != id_field and obj.get(name) is not None:
                by_id.setdefault(str(obj[name]), dict(obj))
    compare = shape.by_option[shape.key].compare
    claimed: set = set()
    plans: list[Plan] = []
    labels: list[str] = []
    problems: list[CtCloudError] = []
    for index, entry in enumerate(wanted):
        key_value = entry.get(shape.key)
        try:
            if entry.get(id_option) is not None:
                match = by_id.get(str(entry[id_option]))
                if match is None and not entry.get("_absent"):
                    raise InputError(f"{shape.name} id {entry[id_option]} does not exist", id_option)
            else:
                match = only_match(shape, by_key.get(compare(key_value), []), key_value, id_field)
            options = None if entry.get("_absent") else {k: v for k, v in entry.items() if k not in ("_absent", id_option)}
            item = plan(shape, match, options, new_defaults)
        except (InputError, AmbiguousKeyError) as exc:
            problems.append(exc)
            continue
        missing = missing_for_create(entry) if missing_for_create is not None and item.action == CREATE else []
        if missing:
            problems.append(SetProblemsError(f"{key_value!r} does not exist; creating it needs {', '.join(missing)}", missing[0]))
        if invalid_for_create is not None and item.action == CREATE:
            problems.extend(SetProblemsError(message) for message in invalid_for_create(index, entry))
        if invalid_plan is not None:
            problems.extend(SetProblemsError(message) for message in invalid_plan(index, item))
        if match is not None:
            claimed.add(str(match.get(id_field)))
        plans.append(item)
        labels.append(str(key_value if key_value is not None else shape.key_of(match or {})))
    if problems:
        raise _all_at_once(problems)
    if purge is not None:
        for obj in current:
            if str(obj.get(id_field)) in claimed:
                continue
            plans.append(plan(shape, obj, purge(dict(obj)), new_defaults))
            labels.append(str(shape.key_of(obj)))
    return SetPlan(shape, plans, labels)


# -- actions -----------------------------------------------------------------
#
# Some changes are not field values but actions (a reboot): sent twice, they happen twice, so there is
# nothing to compare and no "after" object. What is planned is, per object, whether the action is done
# (in which batch) or skipped (and why); check mode and the diff are renderings of that plan, as for fields.

SKIP = "skip"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith(('x', 'ch')) else 's'}"


@dataclass
class ActionPlan:
    """An action on each of several objects, in batches.

    ``steps`` are one record per object, in the order given. The engine owns three keys of a record:
    ``action`` (the action, or ``SKIP``), ``reason`` (why it is skipped, or why a planned action did not
    happen) and ``batch`` (1, 2, ... or None when skipped); ``done`` names the key the adapter sets once the
    action was carried out (``rebooted``), and ``key`` the one that names the object. The rest of a record is
    the adapter's, so the records can be a module's result entries as they are.
    """

    action: str  # the verb: "reboot"
    done: str  # the record key that says it was carried out, also the past tense in messages: "rebooted"
    key: str  # the record key that names the object in lists and the diff
    steps: list[dict[str, Any]]
    objects: list[dict[str, Any]] = field(default_factory=list)  # the objects as read, one per step
    # True until the runner carries the plan out: a check-mode plan stays a prediction to the end.
    predicting: bool = True

    @property
    def acting(self) -> list[dict[str, Any]]:
        return [step for step in self.steps if step["action"] == self.action]

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return [step for step in self.steps if step["action"] != self.action]

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        """The steps that act, grouped by batch number, in order."""
        return action_batches(self.steps, self.action)

    @property
    def carried_out(self) -> list[dict[str, Any]]:
        """The steps the action was (or, while predicting, would be) carried out on."""
        return self.acting if self.predicting else [step for step in self.steps if step.get(self.done)]

    @property
    def changed(self) -> bool:
        return bool(self.carried_out)

    def names(self, steps: Iterable[Mapping[str, Any]]) -> list[Any]:
        return [step[self.key] for step in steps]

    def predict(self, after: Callable[[dict[str, Any]], Mapping[str, Any]]) -> None:
        """Check mode: each acting step shows ``after(step)``, what it will be once the action is done."""
        for step in self.acting:
            step.update(after(step))

    def message(self, noun: str, check_mode: bool, outcome: str) -> str:
        """One sentence: what was done (``outcome`` is added, "all back online"), or in check mode what would be."""
        count, batch_count, skipped = len(self.carried_out), len(self.batches), len(self.skipped)
        tail = f"; {skipped} skipped" if skipped else ""
        if not count:
            return f"Nothing to {self.action}{tail}" + (" (check mode)" if check_mode else "")
        what = f"{_plural(count, noun)} in {_plural(batch_count, 'batch')}"
        if check_mode:
            return f"Would {self.action} {what}{tail} (check mode, nothing was sent)"
        return f"{self.done.capitalize()} {what}, {outcome}{tail}"

    def diff(
        self,
        subject: str,
        outcome: str,
        detail: Callable[[Mapping[str, Any]], str],
        state: Callable[[Mapping[str, Any]], Any],
    ) -> dict[str, Any]:
        """The plan as text, batch by batch, so that --diff names every object (skipped ones as context lines).

        Before is each object's ``state``, after the ``outcome`` of the action; ``detail`` says which object it
        is (in parentheses after its name). It is the plan, not a report: the same in check mode and in the run.
        """
        planned = self.batches
        before, after = [], []
        for number, batch in enumerate(planned, 1):
            header = f"batch {number} of {len(planned)}:"
            before.append(header)
            after.append(header)
            for step in batch:
                label = f"  {step[self.key]} ({detail(step)})"
                before.append(f"{label}: {state(step)}")
                after.append(f"{label}: {outcome}")
        skipped = [f"  {step[self.key]} ({state(step)}): {step['reason']}" for step in self.skipped]
        if skipped:
            before += ["skipped:", *skipped]
            after += ["skipped:", *skipped]
        return {"before_header": subject, "after_header": f"{self.action} plan", "before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n"}


def action_batches(steps: Sequence[dict[str, Any]], action: str) -> list[list[dict[str, Any]]]:
    """The steps that do ``action``, grouped by their batch number, in order."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for step in steps:
        if step["action"] == action:
            grouped.setdefault(step["batch"], []).append(step)
    return [grouped[number] for number in sorted(grouped)]


def plan_actions(
    objects: Sequence[Mapping[str, Any]],
    action: str,
    skip_reason: Callable[[Mapping[str, Any]], str | None],
    record: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]],
    batch_size: int | None = None,
    done: str = "done",
    key: str = "name",
) -> ActionPlan:
    """Which objects get ``action``, in batches of ``batch_size`` (default: all at once) in the order given.

    ``skip_reason(obj)`` says why an object is left out (None: it is not); ``record(obj, decision)`` makes its
    step from the decision (``action``, ``reason``, ``batch``), in whatever shape the adapter reports.
    """
    steps = []
    acting = 0
    size = batch_size or len(objects) or 1
    for obj in objects:
        reason = skip_reason(obj)
        decision = {"action": SKIP if reason else action, "reason": reason, "batch": None if reason else acting // size + 1}
        if not reason:
            acting += 1
        steps.append(record(obj, decision))
    return ActionPlan(action, done, key, steps, [dict(obj) for obj in objects])
