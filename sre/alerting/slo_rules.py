"""SLO rules from probe results and the services' own metrics: SLI error ratios per window, the
budget, and burn-rate alerts.

The SLI of a service on an active tier is the share of failed probes (availability) or of probes
that failed or took longer than the latency threshold (latency), over every vantage point; where
the model names the service's request counters (`slo.requests`), also the share of failed requests
(slo `requests`, alert RequestErrorBudgetBurn). Burn-rate
alerts are multi-window: a pair fires when both its windows spend the budget faster than its factor.
Budgets are rounded to ten digits, so 99.95 % gives 0.0005, not 0.0004999999999999449.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sre.alerting.definitions import BurnAlert, Texts, seconds
from sre.alerting.model import Alert, Case, Expect, Group, Record, RuleFile, Series, fill
from sre.alerting.probe_rules import TEST_VANTAGE, Build, service_labels
from sre.errors import InputError
from sre.grafana.promql import selector
from sre.platform.model import Matcher, parse_selector

SLI = "slo:sli_error:ratio_rate{window}"
GOOD_LATENCY = "slo:probe_within_latency:ratio"
STEPS = 60  # samples of each unit-test series (one a minute): an hour of data


def budget(objective_percent: float) -> float:
    return round(1 - objective_percent / 100, 10)


def number(value: float) -> str:
    return f"{value:.10g}"


def slo_file(b: Build, sid: str) -> RuleFile | None:
    svc = b.platform.services[sid]
    if svc.slo is None:
        return None
    out = RuleFile(f"{sid}-slo")
    for tid, tier in b.platform.tiers.items():
        if tier.standby != "active":
            continue
        group = Group(f"{sid}-{tid}-slo", b.interval())
        _availability(b, sid, tid, group)
        if svc.slo.latency is not None:
            _latency(b, sid, tid, group)
        if svc.slo.requests is not None:
            _requests(b, sid, tid, group)
        out.groups.append(group)
    return out


def _windows(b: Build) -> list[str]:
    slo = b.defs.rules.slo
    found = {w for alert in (slo.page, slo.ticket) for pair in alert.windows for w in (pair.long, pair.short)}
    return sorted(found, key=seconds)


def _sli_records(b: Build, group: Group, ids: dict[str, str], sli: str, days: int) -> None:
    """One recording rule per window, then the SLO window's own (the mean of the 5 m ratios)."""
    windows = _windows(b)
    for window in windows:
        group.rules.append(Record(SLI.format(window=window), sli.replace("<window>", window), ids))
    shortest = SLI.format(window=windows[0])
    group.rules.append(
        Record(
            SLI.format(window=f"{days}d"),
            f"avg_over_time({selector(shortest, slo_id=ids['slo_id'])}[{days}d])",
            ids,
        )
    )


def _meta(group: Group, ids: dict[str, str], objective: float, days: int) -> None:
    group.rules.append(Record("slo:objective:ratio", f"vector({number(objective / 100)})", ids))
    group.rules.append(Record("slo:error_budget:ratio", f"vector({number(budget(objective))})", ids))
    ratio = selector(SLI.format(window=f"{days}d"), slo_id=ids["slo_id"])
    group.rules.append(
        Record(
            "slo:error_budget_remaining:ratio",
            f"1 - {ratio} / {number(budget(objective))}",
            ids,
        )
    )


@dataclass(frozen=True)
class Objective:
    """One SLO of one service on one tier, as its alerts need it."""

    alert: str  # AvailabilityBudgetBurn, LatencyBudgetBurn
    texts: Texts
    ids: dict[str, str]
    labels: dict[str, str]
    budget: float
    shown: str  # the objective as the description says it: "99.95 %", "300 ms"
    service_name: str


def _burn_alerts(b: Build, group: Group, o: Objective) -> tuple[Alert, Alert]:
    slo = b.defs.rules.slo
    page, ticket = _burn_alert(b, o, "page", slo.page), _burn_alert(b, o, "ticket", slo.ticket)
    group.rules += [page, ticket]
    return page, ticket


def _burn_alert(b: Build, o: Objective, severity: str, burn: BurnAlert) -> Alert:
    def over(window: str, factor: float) -> str:
        ratio = selector(SLI.format(window=window), slo_id=o.ids["slo_id"])
        return f"{ratio} > ({factor:g} * {number(o.budget)})"

    pairs = [f"({over(p.long, p.factor)} and {over(p.short, p.factor)})" for p in burn.windows]
    values = {**o.labels, "threshold": o.shown, "service_name": o.service_name}
    return Alert(
        alert=o.alert,
        expr=" or ".join(pairs),
        for_=b.for_(burn.for_),
        labels={"severity": severity, **o.labels, "slo": o.ids["slo"]},
        annotations={
            "summary": fill(o.texts.summary, values),
            "description": fill(o.texts.description, values),
            "runbook_url": b.runbook_url(o.alert, None),
        },
    )


@dataclass(frozen=True)
class Burns:
    """Burn rates (in budgets) of the unit-test cases, between the factors of alerts/rules.yaml."""

    medium: float | None  # between the two page factors: only the slower page pair fires
    slow: float  # between the ticket's highest factor and the page's lowest: a ticket only
    healthy: float  # under every factor


def burns(b: Build) -> Burns:
    page = sorted((w.factor for w in b.defs.rules.slo.page.windows), reverse=True)
    ticket = sorted(w.factor for w in b.defs.rules.slo.ticket.windows)
    return Burns(
        medium=(page[0] + page[1]) / 2 if len(page) > 1 and page[0] > page[1] else None,
        slow=(page[-1] + ticket[-1]) / 2,
        healthy=ticket[0] / 2,
    )


def _ids(sid: str, tid: str, slo: str) -> dict[str, str]:
    return {"slo_id": f"{sid}-{tid}-{slo}", "service": sid, "tier": tid, "slo": slo}


@dataclass(frozen=True)
class Inputs:
    """The input series of each SLO case; `medium` only where the page factors leave room for one."""

    fast: tuple[Series, ...]
    medium: tuple[Series, ...] | None
    slow: tuple[Series, ...]
    healthy: tuple[Series, ...]


def _cases_for(group: Group, page: Alert, ticket: Alert, o: Objective, inputs: Inputs) -> None:
    fast_at = seconds(page.for_) + 120
    slow_at = seconds(ticket.for_) + 300
    extra = {"slo_id": o.ids["slo_id"]}
    names = (page.alert,)
    fires = [Expect(page, extra)]
    if seconds(ticket.for_) <= fast_at - 60:  # the sandbox's short `for`: the ticket fires too
        fires.append(Expect(ticket, extra))
    group.cases.append(Case(f"{page.alert}: fast burn pages", inputs.fast, fast_at, names, tuple(fires)))
    if inputs.medium is not None:
        # Between the two page factors: only the slower page pair fires.
        comment = f"{page.alert}: medium burn pages through the slower pair"
        group.cases.append(Case(comment, inputs.medium, fast_at, names, tuple(fires)))
    group.cases += [
        Case(
            f"{page.alert}: slow burn opens a ticket only",
            inputs.slow,
            slow_at,
            names,
            (Expect(ticket, extra),),
        ),
        Case(f"{page.alert}: healthy, nothing fires", inputs.healthy, slow_at, names),
    ]


def _probe_series(b: Build, sid: str, tid: str, metric: str, values: str, *, vantage: str) -> Series:
    labels = service_labels(b.platform, sid, tid)
    svc = b.platform.services[sid]
    keep = {k: labels[k] for k in ("service", "zone", "tier", "dc")}
    return Series(metric, {"job": b.job, "check": svc.kind, **keep, "vantage": vantage}, values)


ALERTS = {"availability": "AvailabilityBudgetBurn", "requests": "RequestErrorBudgetBurn"}


def _availability_slo(
    b: Build, sid: str, tid: str, group: Group, *, slo: str, sli: str
) -> tuple[Objective, Alert, Alert]:
    """The records, meta rules and burn alerts of an availability SLO measured by `sli`."""
    svc = b.platform.services[sid]
    assert svc.slo is not None
    ids = _ids(sid, tid, slo)
    _sli_records(b, group, ids, sli, svc.slo.window_days)
    _meta(group, ids, svc.slo.availability, svc.slo.window_days)
    texts = b.defs.rules.slo.availability if slo == "availability" else b.defs.rules.slo.requests
    o = Objective(
        ALERTS[slo],
        texts,
        ids,
        service_labels(b.platform, sid, tid),
        budget(svc.slo.availability),
        f"{svc.slo.availability:g} %",
        svc.name,
    )
    page, ticket = _burn_alerts(b, group, o)
    return o, page, ticket


def _availability(b: Build, sid: str, tid: str, group: Group) -> None:
    svc = b.platform.services[sid]
    assert svc.slo is not None
    where = selector("probe_success", job=b.job, service=sid, tier=tid)
    sli = f"1 - avg(avg_over_time({where}[<window>]))"
    o, page, ticket = _availability_slo(b, sid, tid, group, slo="availability", sli=sli)
    spent = o.budget

    def steady(value: float) -> tuple[Series, ...]:
        values = f"{number(value)}x{STEPS}"
        return (_probe_series(b, sid, tid, "probe_success", values, vantage=TEST_VANTAGE),)

    # probe_success averaged over many vantages is a fraction: one steady value per burn rate.
    rates = burns(b)
    inputs = Inputs(
        fast=steady(0),
        medium=steady(1 - rates.medium * spent) if rates.medium is not None else None,
        slow=steady(1 - rates.slow * spent),
        healthy=steady(1 - rates.healthy * spent),
    )
    _cases_for(group, page, ticket, o, inputs)


def _latency(b: Build, sid: str, tid: str, group: Group) -> None:
    svc = b.platform.services[sid]
    assert svc.slo is not None and svc.slo.latency is not None
    latency = svc.slo.latency
    ids = _ids(sid, tid, "latency")
    limit = latency.threshold_ms / 1000
    sel = {"job": b.job, "service": sid, "tier": tid}
    good = (
        f"avg(({selector('probe_duration_seconds', sel)} <= bool {limit:g})"
        f" * {selector('probe_success', sel)})"
    )
    group.rules.append(Record(GOOD_LATENCY, good, ids))
    within = selector(GOOD_LATENCY, slo_id=ids["slo_id"])
    _sli_records(b, group, ids, f"1 - avg_over_time({within}[<window>])", svc.slo.window_days)
    _meta(group, ids, latency.percentile, svc.slo.window_days)
    spent = budget(latency.percentile)
    o = Objective(
        "LatencyBudgetBurn",
        b.defs.rules.slo.latency,
        ids,
        service_labels(b.platform, sid, tid),
        spent,
        f"{latency.threshold_ms} ms",
        svc.name,
    )
    page, ticket = _burn_alerts(b, group, o)
    # n vantage points, k of them slow: k/n burns that many budgets.
    rates = burns(b)
    n = max(2, round(1 / (rates.slow * spent)))
    slow_value, fast_value = number(limit * 2), number(limit / 2)

    def vantages(slow: int) -> tuple[Series, ...]:
        out = []
        for i in range(n):
            v = f"v{i:02d}"
            duration = slow_value if i < slow else fast_value
            out.append(_probe_series(b, sid, tid, "probe_duration_seconds", f"{duration}x{STEPS}", vantage=v))
            out.append(_probe_series(b, sid, tid, "probe_success", f"1x{STEPS}", vantage=v))
        return tuple(out)

    factors = sorted(w.factor for w in b.defs.rules.slo.page.windows)
    k = round(n * (rates.medium or 0) * spent)
    medium = vantages(k) if len(factors) > 1 and factors[0] * spent < k / n < factors[1] * spent else None
    _cases_for(group, page, ticket, o, Inputs(vantages(n), medium, vantages(1), vantages(0)))


def _render(metric: str, matchers: tuple[Matcher, ...], sid: str, tid: str) -> str:
    inner = [f'service="{sid}"', f'tier="{tid}"'] + [f'{k}{op}"{v}"' for k, op, v in matchers]
    return f"{metric}{{{','.join(inner)}}}"


def _sample(label: str, op: str, value: str) -> str:
    """A value an error series may carry for one matcher of `errors` (unit tests need one)."""
    if op == "=":
        return value
    first = value.split("|", 1)[0]
    guess = re.sub(r"\[(.)[^\]]*\]", r"\1", first).replace("\\d", "0").replace(".", "0")
    if re.fullmatch(value, guess) is None:
        raise InputError(
            f"slo.requests.errors: cannot make a test value for {label}=~{value!r}; "
            "use = or a plain pattern such as 5.."
        )
    return guess


def _matches(labels: dict[str, str], matchers: tuple[Matcher, ...]) -> bool:
    def one(value: str, op: str, want: str) -> bool:
        hit = value == want if op in ("=", "!=") else re.fullmatch(want, value) is not None
        return hit if op in ("=", "=~") else not hit

    return all(one(labels.get(k, ""), op, v) for k, op, v in matchers)


def _requests(b: Build, sid: str, tid: str, group: Group) -> None:
    """The availability SLO from the service's own counters: errors / total, beside the probes'."""
    svc = b.platform.services[sid]
    assert svc.slo is not None and svc.slo.requests is not None
    total_name, total_m = parse_selector(svc.slo.requests.total)
    errors_name, errors_m = parse_selector(svc.slo.requests.errors)
    errors, total = _render(errors_name, errors_m, sid, tid), _render(total_name, total_m, sid, tid)
    # No failed request leaves no error series at all: that is a ratio of 0, not no data.
    sli = f"(sum(rate({errors}[<window>])) or vector(0)) / sum(rate({total}[<window>]))"
    o, page, ticket = _availability_slo(b, sid, tid, group, slo="requests", sli=sli)
    spent = o.budget
    where = {k: o.labels[k] for k in ("service", "zone", "tier", "dc")}
    ok_labels = {**where, **{k: v for k, op, v in total_m if op == "="}}
    bad_labels = {**ok_labels, **{k: _sample(k, op, v) for k, op, v in errors_m if op in ("=", "=~")}}
    if total_name != errors_name or not (
        _matches(bad_labels, total_m) and _matches(bad_labels, errors_m) and not _matches(ok_labels, errors_m)
    ):
        raise InputError(
            f"services.{sid}.slo.requests: errors must select a part of total (the same counter, "
            "more matchers)"
        )
    per_minute = 100.0

    def share(ratio: float) -> tuple[Series, ...]:
        ok = f"0+{number(per_minute * (1 - ratio))}x{STEPS}"
        bad = f"0+{number(per_minute * ratio)}x{STEPS}"
        return (Series(total_name, ok_labels, ok), Series(errors_name, bad_labels, bad))

    rates = burns(b)
    inputs = Inputs(
        fast=share(1),
        medium=share(rates.medium * spent) if rates.medium is not None else None,
        slow=share(rates.slow * spent),
        healthy=share(rates.healthy * spent),
    )
    _cases_for(group, page, ticket, o, inputs)
