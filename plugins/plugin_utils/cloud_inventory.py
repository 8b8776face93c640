# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow both inventory plugins share: config -> cached raw records -> hosts and groups.

A plugin subclass says how to read its settings (``read_settings``), which of
them choose the records (``QUERY_FILTERS``), how to build its client and list its
records (``build_client``, ``list_records``), its host variables (``HOSTVARS``
and the ``ansible_*`` ones) and which default groups a record belongs to
(``group_function``); this class does the rest the same way for both:

1. read the config file; an unknown option is an error (Ansible would ignore it);
   credentials may be templates; every setting is checked before any request;
2. take the raw records from the inventory cache, or from the API (and store them);
   a cache hit sends no request at all, not even for a token;
3. build hosts from the records on every run: names, host variables, default
   groups, then ``compose``/``groups``/``keyed_groups`` only when configured.

Every failure is an ``AnsibleParserError`` with a sentence, never a traceback.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
from typing import Any, Callable, Iterable

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import HAS_JSONSCHEMA
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import HAS_REQUESTS
from ansible_collections.ctcloud.cloud.plugins.plugin_utils import records_cache
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.group_names import check_prefix
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.hostnames import assign_hostnames, check_preferences
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.hostvars import HostvarTable


class CloudInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """Base of the collection's inventory plugins (not a plugin itself)."""

    # Set by subclasses: the config file names the plugin takes; the settings that decide which records the
    # API returns (with api_url and client_id they make the cache key); the host variable table, and the
    # ansible_* variables every host gets (FIXED_HOSTVARS) or reads from its record (PER_RECORD_HOSTVARS).
    FILE_SUFFIXES: tuple[str, ...] = ()
    QUERY_FILTERS: tuple[str, ...] = ()
    HOSTVARS: dict[str, Any] = {}
    FIXED_HOSTVARS: dict[str, Any] = {}
    PER_RECORD_HOSTVARS: dict[str, Any] = {}

    # -- for subclasses ------------------------------------------------------

    def read_settings(self) -> dict[str, Any]:
        """The plugin's settings from its options, checked; raise ValueError or CtCloudError naming the option."""
        raise NotImplementedError

    def common_settings(self) -> dict[str, Any]:
        """The options every plugin of the collection has, checked."""
        return {
            "hostnames": check_preferences(self.get_option("hostnames")),
            "group_prefix": check_prefix(self.get_option("group_prefix")),
            "default_groups": self.get_option("default_groups"),
            "hostvars_prefix": self.get_option("hostvars_prefix") or "",
            "hostvars_suffix": self.get_option("hostvars_suffix") or "",
            "hostvars": self.get_option("hostvars"),
            "python_interpreter": self.local_interpreter(),
        }

    def local_interpreter(self) -> str | None:
        """What ``ansible_python_interpreter`` becomes on local hosts: the controller's Python unless configured; None sets nothing."""
        configured = self.get_option("python_interpreter")
        if configured is None:
            # The Python running this process runs ansible-playbook: it has requests and jsonschema.
            return sys.executable
        return configured.strip() or None

    def connection_settings(self, api_url: str, auth_url: str, credentials: tuple[str, ...] = ()) -> dict[str, Any]:
        """The connection options shared with the modules, as the cloud's ``Client.build()`` takes them.

        URLs and credentials may be templates (a vaulted extra var); ``credentials`` names the
        cloud's options beyond client_id and client_secret (CT's refresh and access tokens).
        """
        settings = {
            "api_url": self.templated_option("api_url") or api_url,
            "auth_url": self.templated_option("auth_url") or auth_url,
            "validate_certs": self.get_option("validate_certs"),
            "timeout": self.get_option("timeout"),
        }
        settings.update((name, self.templated_option(name)) for name in ("client_id", "client_secret", "token_store", "token_store_key", *credentials))
        return settings

    def query(self, settings: dict[str, Any]) -> dict[str, Any]:
        """What decides which records the API returns (no secrets): part of the cache key."""
        connection = settings["connection"]
        return {"api_url": connection["api_url"], "client_id": connection["client_id"], **{key: settings[key] for key in self.QUERY_FILTERS}}

    def build_client(self, settings: dict[str, Any]) -> Any:
        """The cloud's client from ``settings["connection"]``."""
        raise NotImplementedError

    def list_records(self, client: Any, settings: dict[str, Any]) -> list[dict[str, Any]]:
        """The raw records, read with ``client``."""
        raise NotImplementedError

    def fetch(self, settings: dict[str, Any]) -> list[dict[str, Any]]:
        """The raw records from the API."""
        client = self.build_client(settings)
        try:
            return self.list_records(client, settings)
        finally:
            client.close()

    def record_id(self, record: dict[str, Any]) -> Any:
        return record.get("id")

    def keep(self, record: dict[str, Any], settings: dict[str, Any]) -> bool:
        """Client-side filters; True keeps the record."""
        return True

    def hostvar_table(self, settings: dict[str, Any]) -> HostvarTable:
        return HostvarTable(
            self.HOSTVARS,
            prefix=settings["hostvars_prefix"],
            suffix=settings["hostvars_suffix"],
            allow=settings["hostvars"],
            fixed=self.FIXED_HOSTVARS,
            per_record=self.PER_RECORD_HOSTVARS,
        )

    def group_function(self, settings: dict[str, Any]) -> Callable[[dict[str, Any]], Iterable[str | None]] | None:
        """A function giving a record's default group names, or None for no default groups."""
        return None

    def prepare(self, records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
        """Look at all the records before hosts are built (group names that must not depend on the records' order)."""

    # -- the flow ------------------------------------------------------------

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(self.FILE_SUFFIXES)

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path)
        config = self._read_config_data(path)
        self._reject_unknown_options(config, path)
        try:
            settings = self.read_settings()
            table = self.hostvar_table(settings)
        except (ValueError, CtCloudError) as exc:
            raise AnsibleParserError(f"{os.path.basename(path)}: {exc}") from None
        key = records_cache.cache_key(self.get_cache_key(path), self.query(settings))
        started = time.perf_counter()
        records, source = self._cached_or_fetched(key, cache, settings)
        read = time.perf_counter()
        records = [record for record in records if isinstance(record, dict) and self.keep(record, settings)]
        self.prepare(records, settings)
        self._populate(records, settings, table)
        self.display.vvv(
            f"{self.NAME}: {len(records)} hosts; records read from {source} in {read - started:.2f}s, "
            f"hosts and groups built in {time.perf_counter() - read:.2f}s"
        )

    def _reject_unknown_options(self, config: Any, path: str) -> None:
        known = set(self._options) | {"plugin"}
        unknown = sorted(str(option) for option in config if option not in known)
        if not unknown:
            return
        hints = []
        for option in unknown:
            close = difflib.get_close_matches(option, sorted(known), n=1)
            hints.append(f"{option!r} (did you mean {close[0]!r}?)" if close else repr(option))
        raise AnsibleParserError(
            "{}: unknown option{} {}; see ansible-doc -t inventory {}".format(
                os.path.basename(path), "s" if len(unknown) > 1 else "", ", ".join(hints), self.NAME
            )
        )

    def templated_option(self, option: str) -> Any:
        """An option's value with Jinja2 rendered (extra vars available), for credentials and URLs."""
        value = self.get_option(option)
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            self.templar.available_variables = self._vars or {}
            try:
                value = self.templar.template(value)
            except AnsibleError as exc:
                # The message may quote the template, never the rendered value.
                raise AnsibleParserError(f"option {option}: the template cannot be rendered: {exc.message}") from None
        return value

    def _cached_or_fetched(self, key: str, cache: bool, settings: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """The raw records and where they came from ("the cache" or "the API")."""
        use_cache = self.get_option("cache")
        if use_cache and cache:
            try:
                records = records_cache.decode(self._cache[key])
            except KeyError:
                records = None
            if records is not None:
                return records, "the cache"
        records = self._fetch_or_fail(settings)
        if use_cache:
            self._cache[key] = records_cache.encode(records)
        return records, "the API"

    def _fetch_or_fail(self, settings: dict[str, Any]) -> list[dict[str, Any]]:
        for present, library in ((HAS_REQUESTS, "requests"), (HAS_JSONSCHEMA, "jsonschema")):
            if not present:
                raise AnsibleParserError(f"the {self.NAME} inventory plugin needs the Python library {library!r} on the controller")
        try:
            return self.fetch(settings)
        except CtCloudError as exc:
            raise AnsibleParserError(str(exc)) from None

    def _populate(self, records: list[dict[str, Any]], settings: dict[str, Any], table: HostvarTable) -> None:
        names = assign_hostnames(records, settings["hostnames"], self.record_id)
        groups_of = self.group_function(settings) if settings["default_groups"] else None
        compose = self.get_option("compose")
        composed_groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        constructed = bool(compose or composed_groups or keyed_groups)
        strict = self.get_option("strict")

        inventory = self.inventory
        add_host = inventory.add_host
        set_variable = inventory.set_variable
        add_group = inventory.add_group
        add_child = inventory.add_child
        build = table.build
        interpreter = settings["python_interpreter"]
        known_groups: set[str] = set()
        for record, name in zip(records, names):
            hostvars = build(record)
            add_host(name)
            for variable, value in hostvars.items():
                set_variable(name, variable, value)
            if interpreter is not None and not constructed and hostvars.get("ansible_connection") == "local":
                set_variable(name, "ansible_python_interpreter", interpreter)
            if groups_of is not None:
                for group in groups_of(record):
                    if group is None:
                        continue
                    if group not in known_groups:
                        add_group(group)
                        known_groups.add(group)
                    add_child(group, name)
            if constructed:
                self._set_composite_vars(compose, hostvars, name, strict=strict)
                self._add_host_to_composed_groups(composed_groups, hostvars, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, hostvars, name, strict=strict)
                if interpreter is not None:
                    self._set_local_interpreter(name, interpreter)

    def _set_local_interpreter(self, name: str, interpreter: str) -> None:
        """After compose: a host that ended up local gets the interpreter, unless compose chose one."""
        variables = self.inventory.get_host(name).vars
        if variables.get("ansible_connection") == "local" and "ansible_python_interpreter" not in variables:
            self.inventory.set_variable(name, "ansible_python_interpreter", interpreter)
