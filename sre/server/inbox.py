"""From a stored notification to runs: episodes, rules, parameters checked against the model.

Every alert of the group is looked at. An episode (fingerprint + startsAt) is
unique in the store and its run id is derived from it, so resends, HA copies
and repeat-interval notifications start nothing twice, even when a receiver
dies half-way through a notification and another one processes it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sre.errors import InputError
from sre.runbooks.definitions import Rule
from sre.runbooks.engine import Engine
from sre.runbooks.params import check_params
from sre.server.webhook import Alert, Message, parse

Count = Callable[[str, str], None]  # metric name, label value


@dataclass
class Outcome:
    started: list[str] = field(default_factory=list)
    duplicates: int = 0
    stale: int = 0
    rejected: list[str] = field(default_factory=list)


def episode_run_id(alert: Alert) -> str:
    return "run-" + hashlib.sha256(f"{alert.fingerprint}|{alert.startsAt}".encode()).hexdigest()[:20]


def match(rules: list[Rule], labels: dict[str, str]) -> Rule | None:
    for rule in rules:
        if all(labels.get(k) == v for k, v in rule.match.items()) and all(
            re.fullmatch(p, labels.get(k, "")) for k, p in rule.match_re.items()
        ):
            return rule
    return None


@dataclass
class Inbox:
    engine: Engine
    count: Count = lambda name, label: None

    async def process(self, body: str) -> Outcome:
        message = parse(body.encode())
        alerts = list(message.alerts)
        if message.truncatedAlerts > 0:
            alerts = await self._full_group(message, alerts)
        out = Outcome()
        for alert in alerts:
            await self._alert(message, alert, out)
        return out

    async def _full_group(self, message: Message, alerts: list[Alert]) -> list[Alert]:
        """Alertmanager cut the group at max_alerts: ask its API for the group's alerts."""
        from sre.runbooks.actions.web import http_request

        url = self.engine.settings.alertmanager_url
        if not url:
            self.count("rejected", "truncated_no_api")
            return alerts
        filters = [("filter", f'{k}="{v}"') for k, v in sorted(message.groupLabels.items())]
        ctx = self.engine.context("inbox")
        response = await http_request(ctx, "GET", f"{url.rstrip('/')}/api/v2/alerts", params=filters)
        if response.status_code != 200:
            self.count("rejected", "truncated_fetch_failed")
            return alerts
        seen = {a.fingerprint for a in alerts}
        for item in response.json():
            if item.get("fingerprint") in seen or item.get("status", {}).get("state") != "active":
                continue
            try:
                alerts.append(
                    Alert(
                        status="firing",
                        labels=item.get("labels", {}),
                        startsAt=item["startsAt"],
                        fingerprint=item["fingerprint"],
                    )
                )
            except (KeyError, ValueError):
                self.count("rejected", "bad_api_alert")
        return alerts

    async def _alert(self, message: Message, alert: Alert, out: Outcome) -> None:
        store = self.engine.store
        fp, starts = alert.fingerprint, alert.startsAt
        existing = store.episode(fp, starts)
        if alert.status == "resolved":
            if existing is None:
                store.add_episode(fp, starts, _name(alert), "resolved", _labels(alert))
                store.update_episode(fp, starts, reason="resolved before a firing notification arrived")
            elif existing["status"] != "resolved":
                store.update_episode(fp, starts, status="resolved")
            return
        if existing is not None:
            if existing["status"] == "resolved":
                out.stale += 1  # a late firing (an HA peer, a retry) of an episode that is over
                self.count("stale", "")
                return
            if existing["run_id"] or existing["reason"]:
                out.duplicates += 1
                self.count("duplicates", "episode")
                return
            # Recorded, but its receiver died before it was decided: decide it again (the run id is fixed).
        else:
            store.add_episode(fp, starts, _name(alert), "firing", _labels(alert))
        rule = match(self.engine.catalog.rules, dict(alert.labels))
        if rule is None:
            self._reject(alert, "no rule matches its labels", "no_rule", out)
            return
        runbook = self.engine.catalog.runbooks[rule.runbook]
        given: dict[str, str] = {}
        for pname, label in rule.params.items():
            if label not in alert.labels:
                self._reject(alert, f"rule {rule.name}: label {label!r} is missing", "missing_label", out)
                return
            given[pname] = alert.labels[label]
        try:
            params = check_params(runbook, given, self.engine.platform)
        except InputError as exc:
            self._reject(alert, f"rule {rule.name}: {exc}", "bad_label", out)
            return
        run_id = episode_run_id(alert)
        try:
            await self.engine.request(
                runbook,
                params,
                requested_by=f"alertmanager:{message.receiver}"[:200],
                trigger=f"episode {fp} {starts}",
                run_id=run_id,
            )
        except (InputError, ValueError) as exc:
            self._reject(alert, f"rule {rule.name}: cannot plan {runbook.name}: {exc}", "plan_failed", out)
            return
        store.update_episode(fp, starts, runbook=runbook.name, run_id=run_id)
        out.started.append(run_id)
        self.count("runs", runbook.name)

    def _reject(self, alert: Alert, reason: str, kind: str, out: Outcome) -> None:
        self.engine.store.update_episode(alert.fingerprint, alert.startsAt, reason=reason[:500])
        out.rejected.append(reason)
        self.count("rejected", kind)


def _name(alert: Alert) -> str:
    return alert.labels.get("alertname", "")[:256]


def _labels(alert: Alert) -> str:
    return json.dumps(dict(alert.labels), sort_keys=True)
