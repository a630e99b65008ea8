"""Prometheus metrics of the sandbox's NATS and ClickHouse, read from the servers themselves, under the
names production's exporters give them.

Production scrapes prometheus-nats-exporter (-varz -jsz=all) and ClickHouse's own /metrics endpoint;
neither is here (the exporter is not in Debian, and Debian's ClickHouse 18.16 has no Prometheus
endpoint). This bridge asks the real server on each scrape and writes what those would write:

- NATS: `gnatsd_varz_<field>` for the numeric fields of /varz (label server_id), and from /jsz the
  `jetstream_server_*`, `jetstream_stream_*` and `jetstream_consumer_*` gauges with the exporter's
  labels (server_id, server_name, cluster, domain, meta_leader, is_meta_leader, account, account_id,
  stream_name, stream_leader, is_stream_leader, and the consumer's).
- ClickHouse: `ClickHouseMetrics_<metric>` (system.metrics), `ClickHouseProfileEvents_<event>`
  (system.events) and `ClickHouseAsyncMetrics_<metric>` (system.asynchronous_metrics), unlabelled.

    python -m sre.sandbox.server_metrics CONFIG.json --listen 127.0.0.1:PORT

CONFIG: {"targets": {"<service>/<tier>": {"kind": "nats" | "clickhouse", "url": MONITOR_OR_HTTP_URL}}};
GET /metrics/<service>/<tier> answers one target (Prometheus's file_sd sets the path and the labels).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from sre.sandbox.bridge import command_line

TIMEOUT = 5.0
MAX_BODY = 16 << 20
# ClickHouse's endpoint writes every profile event, zero included; 18.16's system.events leaves out
# those still at zero, so these (the ones dashboards read) are written as 0 when absent.
ZERO_EVENTS = ("Query", "SelectQuery", "InsertQuery", "FailedQuery", "FailedSelectQuery", "FailedInsertQuery")

QUERIES = {
    "metrics": "SELECT metric, value FROM system.metrics FORMAT TabSeparated",
    "events": "SELECT event, value FROM system.events FORMAT TabSeparated",
    "asynchronous_metrics": "SELECT metric, value FROM system.asynchronous_metrics FORMAT TabSeparated",
}
Sample = tuple[str, dict[str, str], float]  # name, labels, value


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:  # noqa: S310 - loopback URLs from our config
        data: bytes = resp.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise ValueError(f"{url}: answer larger than {MAX_BODY} bytes")
    return data


def _name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", text)


def nats_samples(varz: dict[str, Any], jsz: dict[str, Any]) -> Iterator[Sample]:
    server_id = str(varz.get("server_id", ""))
    for key, value in sorted(varz.items()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield f"gnatsd_varz_{_name(key)}", {"server_id": server_id}, float(value)
    meta = jsz.get("meta_cluster") or {}
    name = str(varz.get("server_name", ""))
    leader = str(meta.get("leader", ""))
    server = {
        "server_id": server_id,
        "server_name": name,
        "cluster": str(meta.get("name", "")),
        "domain": str((jsz.get("config") or {}).get("domain", "")),
        "meta_leader": leader,
        "is_meta_leader": "true" if not meta or leader == name else "false",
    }
    config = jsz.get("config") or {}
    yield "jetstream_server_jetstream_disabled", server, 1.0 if jsz.get("disabled") else 0.0
    yield "jetstream_server_max_memory", server, float(config.get("max_memory", 0))
    yield "jetstream_server_max_storage", server, float(config.get("max_storage", 0))
    for field, metric in (("streams", "total_streams"), ("consumers", "total_consumers")):
        yield f"jetstream_server_{metric}", server, float(jsz.get(field, 0))
    yield "jetstream_server_total_messages", server, float(jsz.get("messages", 0))
    yield "jetstream_server_total_message_bytes", server, float(jsz.get("bytes", 0))
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            s_leader = str((stream.get("cluster") or {}).get("leader", ""))
            labels = {
                **server,
                "account": str(account.get("name", "")),
                "account_id": str(account.get("id", "")),
                "stream_name": str(stream.get("name", "")),
                "stream_leader": s_leader,
                "is_stream_leader": "true" if not s_leader or s_leader == name else "false",
            }
            state = stream.get("state") or {}
            for field, metric in (
                ("messages", "total_messages"),
                ("bytes", "total_bytes"),
                ("first_seq", "first_seq"),
                ("last_seq", "last_seq"),
                ("consumer_count", "consumer_count"),
            ):
                yield f"jetstream_stream_{metric}", labels, float(state.get(field, 0))
            for consumer in stream.get("consumer_detail") or []:
                yield from _consumer(labels, consumer, name)


def _consumer(stream: dict[str, str], consumer: dict[str, Any], server_name: str) -> Iterator[Sample]:
    c_leader = str((consumer.get("cluster") or {}).get("leader", ""))
    labels = {
        **stream,
        "consumer_name": str(consumer.get("name", "")),
        "consumer_leader": c_leader,
        "is_consumer_leader": "true" if not c_leader or c_leader == server_name else "false",
        "consumer_desc": str((consumer.get("config") or {}).get("description", "")),
        "consumer_created": str(consumer.get("created", "")),
    }
    delivered, floor = consumer.get("delivered") or {}, consumer.get("ack_floor") or {}
    values = {
        "delivered_consumer_seq": delivered.get("consumer_seq", 0),
        "delivered_stream_seq": delivered.get("stream_seq", 0),
        "num_ack_pending": consumer.get("num_ack_pending", 0),
        "num_redelivered": consumer.get("num_redelivered", 0),
        "num_waiting": consumer.get("num_waiting", 0),
        "num_pending": consumer.get("num_pending", 0),
        "ack_floor_stream_seq": floor.get("stream_seq", 0),
        "ack_floor_consumer_seq": floor.get("consumer_seq", 0),
    }
    for metric, value in values.items():
        yield f"jetstream_consumer_{metric}", labels, float(value)


def nats(url: str) -> list[Sample]:
    varz = json.loads(_get(url + "/varz"))
    jsz = json.loads(_get(url + "/jsz?consumers=true&config=true"))
    return list(nats_samples(varz, jsz))


def clickhouse_samples(tables: dict[str, str]) -> Iterator[Sample]:
    """From the TSV of system.metrics, system.events and system.asynchronous_metrics."""
    prefixes = {"metrics": "ClickHouseMetrics_", "events": "ClickHouseProfileEvents_"}
    prefixes["asynchronous_metrics"] = "ClickHouseAsyncMetrics_"
    for table, prefix in prefixes.items():
        seen = set()
        for line in tables[table].splitlines():
            key, _, value = line.partition("\t")
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number):
                seen.add(key)
                yield prefix + _name(key), {}, number
        if table == "events":
            for event in ZERO_EVENTS:
                if event not in seen:
                    yield prefix + event, {}, 0.0


def clickhouse(url: str) -> list[Sample]:
    tables = {}
    for table, query in QUERIES.items():
        tables[table] = _get(f"{url}/?{urllib.parse.urlencode({'query': query})}").decode()
    return list(clickhouse_samples(tables))


def exposition(samples: list[Sample]) -> str:
    out: list[str] = []
    typed: set[str] = set()
    # The samples of one metric together, as the text format wants them (sorted is stable).
    for name, labels, value in sorted(samples, key=lambda sample: sample[0]):
        if name not in typed:
            typed.add(name)
            kind = "counter" if name.startswith("ClickHouseProfileEvents_") else "gauge"
            out.append(f"# TYPE {name} {kind}")
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
    return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


READERS = {"nats": nats, "clickhouse": clickhouse}


def main(argv: list[str] | None = None) -> None:
    from aiohttp import web

    config, host, port = command_line("sre.sandbox.server_metrics", argv)
    targets: dict[str, dict[str, str]] = config.get("targets", {})

    async def metrics(request: web.Request) -> web.Response:
        target = targets.get(f"{request.match_info['service']}/{request.match_info['tier']}")
        if target is None:
            return web.Response(status=404, text="no such target\n")
        try:
            samples = await asyncio.to_thread(READERS[target["kind"]], target["url"])
        except (OSError, ValueError) as exc:
            # The server does not answer: the scrape fails, as the real exporter's would (up == 0).
            return web.Response(status=503, text=f"{target['kind']} did not answer: {exc}\n")
        return web.Response(text=exposition(samples), content_type="text/plain", charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics/{service}/{tier}", metrics)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
