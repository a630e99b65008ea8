"""The NATS and ClickHouse bridge of the sandbox: the servers' own numbers under the names and labels
prometheus-nats-exporter and ClickHouse's /metrics endpoint use."""

from __future__ import annotations

from sre.sandbox.server_metrics import clickhouse_samples, exposition, nats_samples

VARZ = {"server_id": "NABC", "server_name": "sandbox", "connections": 3, "in_msgs": 10, "version": "2.9.11"}
JSZ = {
    "config": {"max_memory": 100, "max_storage": 200, "domain": ""},
    "streams": 1,
    "consumers": 1,
    "messages": 5,
    "bytes": 50,
    "account_details": [
        {
            "name": "$G",
            "id": "$G",
            "stream_detail": [
                {
                    "name": "SANDBOX",
                    "state": {"messages": 5, "bytes": 50, "first_seq": 1, "last_seq": 5, "consumer_count": 1},
                    "consumer_detail": [
                        {
                            "name": "audit",
                            "created": "2026-12-01T00:00:00Z",
                            "delivered": {"consumer_seq": 4, "stream_seq": 4},
                            "ack_floor": {"consumer_seq": 3, "stream_seq": 3},
                            "num_ack_pending": 1,
                            "num_redelivered": 0,
                            "num_waiting": 0,
                            "num_pending": 1,
                        }
                    ],
                }
            ],
        }
    ],
}


def test_nats_names_and_labels_are_the_exporters() -> None:
    samples = {(name, tuple(labels.items())): value for name, labels, value in nats_samples(VARZ, JSZ)}
    assert samples[("gnatsd_varz_connections", (("server_id", "NABC"),))] == 3
    assert not [n for n, _ in samples if n == "gnatsd_varz_version"]  # only numbers
    stream = {n: dict(labels) for (n, labels) in samples if n == "jetstream_stream_total_messages"}
    assert stream["jetstream_stream_total_messages"] == {
        "server_id": "NABC",
        "server_name": "sandbox",
        "cluster": "",
        "domain": "",
        "meta_leader": "",
        "is_meta_leader": "true",
        "account": "$G",
        "account_id": "$G",
        "stream_name": "SANDBOX",
        "stream_leader": "",
        "is_stream_leader": "true",
    }
    pending = [
        (dict(labels), v) for (n, labels), v in samples.items() if n == "jetstream_consumer_num_pending"
    ]
    assert [(p["consumer_name"], p["stream_name"], v) for p, v in pending] == [("audit", "SANDBOX", 1)]
    assert {"jetstream_consumer_num_ack_pending", "jetstream_consumer_num_redelivered"} <= {
        n for n, _ in samples
    }


def test_clickhouse_tables_become_its_endpoints_names() -> None:
    tables = {
        "metrics": "Query\t1\nMerge\t0\n",
        "events": "Query\t7\nSelectQuery\t7\n",
        "asynchronous_metrics": "ReplicasMaxAbsoluteDelay\t0\nUptime\t47\njemalloc.allocated\t5\nbad\tnan\n",
    }
    samples = {name: value for name, _, value in clickhouse_samples(tables)}
    assert samples["ClickHouseMetrics_Query"] == 1
    assert samples["ClickHouseProfileEvents_Query"] == 7
    assert samples["ClickHouseProfileEvents_FailedQuery"] == 0  # 18.16 leaves zero events out
    assert samples["ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay"] == 0
    assert samples["ClickHouseAsyncMetrics_jemalloc_allocated"] == 5
    assert "ClickHouseAsyncMetrics_bad" not in samples


def test_exposition_groups_each_metric_and_escapes_labels() -> None:
    text = exposition(
        [
            ("b", {"x": '1"\\'}, 1.0),
            ("a_total", {}, 2.0),
            ("b", {"x": "2"}, 3.0),
            ("ClickHouseProfileEvents_Q", {}, 4),
        ]
    )
    lines = text.splitlines()
    assert lines.index("# TYPE b gauge") + 2 == lines.index('b{x="2"} 3')
    assert 'b{x="1\\"\\\\"} 1' in lines and "a_total 2" in lines
    assert "# TYPE ClickHouseProfileEvents_Q counter" in lines
