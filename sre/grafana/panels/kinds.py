"""What each kind of stateful service shows, with the metric names its exporter emits."""

from __future__ import annotations

from collections.abc import Callable

from sre.grafana import Board, now, q, rate, selector
from sre.grafana.panels.common import Labels, bound
from sre.platform.model import ServiceTier

KindPanels = Callable[[Board, Labels, "ServiceTier | None", Labels], None]


def is_replica(tier: ServiceTier | None) -> bool:
    return tier is not None and tier.role == "replica"


def max_lag(tier: ServiceTier | None) -> float | None:
    return tier.max_lag_seconds if tier else None


def postgres(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """postgres_exporter."""
    board.graph(
        "Connections by state",
        q(f"sum by (state) ({selector('pg_stat_activity_count', labels)})", "{{state}}"),
        q(f"max({selector('pg_settings_max_connections', labels)})", "max_connections"),
        unit="short",
        description="Client connections by state, against max_connections (postgres_exporter).",
        width=8,
    )
    commits = rate(selector("pg_stat_database_xact_commit", labels))
    rollbacks = rate(selector("pg_stat_database_xact_rollback", labels))
    board.graph(
        "Transactions",
        q(f"sum({commits})", "commits"),
        q(f"sum({rollbacks})", "rollbacks"),
        unit="ops",
        description="Committed and rolled-back transactions per second.",
        width=8,
    )
    if is_replica(tier):
        board.graph(
            "Replication lag (replica)",
            q(f"max({selector('pg_replication_lag_seconds', labels)})", "lag"),
            unit="s",
            description="How far this replica's replay is behind the primary, as the replica reports it; "
            "red from the tier's bound in platform.yaml.",
            thresholds=bound(max_lag(tier)),
            width=8,
        )
    else:
        board.graph(
            "Replicas behind this primary (bytes of WAL)",
            q(
                f"max by (application_name) ({selector('pg_stat_replication_pg_wal_lsn_diff', labels)})",
                "{{application_name}}",
            ),
            unit="bytes",
            description="WAL bytes each connected replica has yet to replay, as the primary sees it.",
            width=8,
        )


def redis(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """redis_exporter."""
    board.graph(
        "Memory",
        q(f"max({selector('redis_memory_used_bytes', labels)})", "used"),
        q(f"max({selector('redis_memory_max_bytes', labels)})", "maxmemory"),
        unit="bytes",
        description="Memory in use against maxmemory (redis_exporter); evictions start at the limit.",
        width=8,
    )
    board.graph(
        "Commands and evictions",
        q(f"sum({rate(selector('redis_commands_processed_total', labels))})", "commands/s"),
        q(f"sum({rate(selector('redis_evicted_keys_total', labels))})", "evictions/s"),
        unit="ops",
        description="Commands processed and keys evicted per second.",
        width=8,
    )
    if is_replica(tier):
        board.graph(
            "Replica offset behind the primary",
            q(
                f"max({selector('redis_master_repl_offset', primary)}) - "
                f"max({selector('redis_slave_repl_offset', labels)})",
                "bytes behind",
            ),
            unit="bytes",
            description="Replication bytes this replica has not received yet: the primary's offset minus "
            "its own.",
            width=8,
        )
    else:
        board.graph(
            "Connected replicas' offsets",
            q(
                f"max by (slave_ip) ({selector('redis_connected_slave_offset_bytes', labels)})",
                "{{slave_ip}}",
            ),
            unit="bytes",
            description="Replication offset of each connected replica, as the primary reports it.",
            width=8,
        )


def kafka(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """kafka_exporter."""
    board.graph(
        "Consumer lag",
        q(
            f"sum by (consumergroup, topic) ({selector('kafka_consumergroup_lag', labels)})",
            "{{consumergroup}} / {{topic}}",
        ),
        unit="short",
        description="Messages each consumer group has not consumed yet, per topic (kafka_exporter).",
        width=8,
    )
    board.graph(
        "Messages in per topic",
        q(f"sum by (topic) ({rate(selector('kafka_topic_partition_current_offset', labels))})", "{{topic}}"),
        unit="short",
        description="Messages written per second, per topic.",
        width=8,
    )
    board.stat(
        "Brokers and under-replicated partitions",
        now(f"max({selector('kafka_brokers', labels)})", "brokers"),
        now(
            f"sum({selector('kafka_topic_partition_under_replicated_partition', labels)})",
            "under-replicated",
        ),
        unit="short",
        description="Brokers in the cluster, and partitions with fewer in-sync replicas than configured.",
        width=8,
        height=8,
    )


def nats(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """prometheus-nats-exporter with -jsz (JetStream) and -varz."""
    board.graph(
        "JetStream pending per consumer",
        q(
            f"sum by (stream_name, consumer_name) ({selector('jetstream_consumer_num_pending', labels)})",
            "{{stream_name}} / {{consumer_name}}",
        ),
        unit="short",
        description="Messages each JetStream consumer has not received yet (prometheus-nats-exporter -jsz).",
        width=8,
    )
    board.graph(
        "JetStream ack pending and redeliveries",
        q(f"sum({selector('jetstream_consumer_num_ack_pending', labels)})", "ack pending"),
        q(f"sum({rate(selector('jetstream_consumer_num_redelivered', labels))})", "redeliveries/s"),
        unit="short",
        description="Messages delivered but not acknowledged yet, and redeliveries per second.",
        width=8,
    )
    board.graph(
        "Stream messages and connections",
        q(f"sum by (stream_name) ({selector('jetstream_stream_total_messages', labels)})", "{{stream_name}}"),
        q(f"sum({selector('gnatsd_varz_connections', labels)})", "connections"),
        unit="short",
        description="Messages stored per stream, and client connections to the servers.",
        width=8,
    )


def clickhouse(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """ClickHouse's built-in Prometheus endpoint."""
    board.graph(
        "Queries",
        q(f"sum({rate(selector('ClickHouseProfileEvents_Query', labels))})", "queries/s"),
        q(f"sum({rate(selector('ClickHouseProfileEvents_FailedQuery', labels))})", "failed/s"),
        unit="ops",
        description="Queries started and failed per second (ClickHouse's Prometheus endpoint).",
        width=8,
    )
    board.graph(
        "Running queries",
        q(f"sum({selector('ClickHouseMetrics_Query', labels)})", "running"),
        unit="short",
        description="Queries running now.",
        width=8,
    )
    board.graph(
        "Replica delay",
        q(f"max({selector('ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay', labels)})", "delay"),
        unit="s",
        description="The largest delay of any replicated table behind its replicas; red from the "
        "tier's bound.",
        thresholds=bound(max_lag(tier)),
        width=8,
    )


def s3(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """S3 request metrics from CloudWatch (YACE names)."""
    board.graph(
        "Requests and errors",
        q(f"sum({selector('aws_s3_all_requests_sum', labels)})", "requests"),
        q(f"sum({selector('aws_s3_4xx_errors_sum', labels)})", "4xx"),
        q(f"sum({selector('aws_s3_5xx_errors_sum', labels)})", "5xx"),
        unit="short",
        description="Requests and client (4xx) and server (5xx) errors per CloudWatch period (YACE).",
        width=8,
    )
    board.graph(
        "First-byte latency",
        q(f"max({selector('aws_s3_first_byte_latency_average', labels)})", "average"),
        unit="ms",
        description="Average time to the first byte of a response.",
        width=8,
    )
    board.graph(
        "Replication latency",
        q(f"max({selector('aws_s3_replication_latency_maximum', labels)})", "maximum"),
        unit="s",
        description="Longest time an object took to replicate to the other region; red from the "
        "tier's bound.",
        thresholds=bound(max_lag(tier)),
        width=8,
    )


def vault(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """Vault's telemetry (/v1/sys/metrics?format=prometheus)."""
    board.stat(
        "Seal state",
        now(f"min({selector('vault_core_unsealed', labels)})", "seal"),
        unit="none",
        description="Whether Vault is unsealed; a sealed Vault serves no secret.",
        mappings={0: ("sealed", "red"), 1: ("unsealed", "green")},
        width=4,
        height=8,
    )
    board.stat(
        "HA mode",
        now(f"max({selector('vault_core_active', labels)})", "mode"),
        unit="none",
        description="Whether this node is the active one of its HA cluster or a standby.",
        mappings={0: ("standby", "blue"), 1: ("active", "green")},
        width=4,
        height=8,
    )
    board.graph(
        "Requests",
        q(f"sum({rate(selector('vault_core_handle_request_count', labels))})", "requests/s"),
        unit="reqps",
        description="Requests Vault handled per second.",
        width=8,
    )
    board.graph(
        "Request duration p99",
        q(f"max({selector('vault_core_handle_request', labels, quantile='0.99')})", "p99"),
        unit="ms",
        description="99th percentile time to handle a request, from Vault's own summary.",
        width=8,
    )


def mongodb(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """Percona mongodb_exporter."""
    board.graph(
        "Connections",
        q(f"sum({selector('mongodb_ss_connections', labels, conn_type='current')})", "current"),
        unit="short",
        description="Client connections open now (mongodb_exporter).",
        width=8,
    )
    board.graph(
        "Operations",
        q(
            f"sum by (legacy_op_type) ({rate(selector('mongodb_ss_opcounters', labels))})",
            "{{legacy_op_type}}",
        ),
        unit="ops",
        description="Operations per second by type (insert, query, update, delete, getmore, command).",
        width=8,
    )
    board.graph(
        "Replication lag",
        q(f"max({selector('mongodb_mongod_replset_member_replication_lag', labels)})", "lag"),
        unit="s",
        description="How far the replica set's members are behind the primary; red from the tier's bound.",
        thresholds=bound(max_lag(tier)),
        width=8,
    )


def elasticsearch(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """prometheus-community elasticsearch_exporter."""
    health = "elasticsearch_cluster_health_status"
    board.stat(
        "Cluster health",
        now(
            f"2 * max({selector(health, labels, color='red')})"
            f" + max({selector(health, labels, color='yellow')})",
            "health",
        ),
        unit="none",
        description="Cluster health: yellow has unassigned replicas, red unassigned primaries "
        "(elasticsearch_exporter).",
        mappings={0: ("green", "green"), 1: ("yellow", "yellow"), 2: ("red", "red")},
        width=4,
        height=8,
    )
    board.stat(
        "Nodes and unassigned shards",
        now(f"max({selector('elasticsearch_cluster_health_number_of_nodes', labels)})", "nodes"),
        now(f"max({selector('elasticsearch_cluster_health_unassigned_shards', labels)})", "unassigned"),
        unit="short",
        description="Nodes in the cluster and shards no node holds.",
        width=4,
        height=8,
    )
    heap = {**labels, "area": "heap"}
    board.graph(
        "JVM heap",
        q(
            f"max by (name) ({selector('elasticsearch_jvm_memory_used_bytes', heap)}) / "
            f"max by (name) ({selector('elasticsearch_jvm_memory_max_bytes', heap)})",
            "{{name}}",
        ),
        unit="percentunit",
        maximum=1,
        description="Share of the JVM heap in use, per node; long stretches near the top mean GC pressure.",
        width=8,
    )
    board.graph(
        "Indexing",
        q(f"sum({rate(selector('elasticsearch_indices_indexing_index_total', labels))})", "documents/s"),
        unit="ops",
        description="Documents indexed per second.",
        width=8,
    )


def kubernetes(board: Board, labels: Labels, tier: ServiceTier | None, primary: Labels) -> None:
    """kube-state-metrics and the API server's own metrics."""
    board.stat(
        "Ready nodes",
        now(
            f"sum({selector('kube_node_status_condition', labels, condition='Ready', status='true')})",
            "ready",
        ),
        unit="short",
        description="Nodes whose Ready condition is true (kube-state-metrics).",
        width=4,
        height=8,
    )
    requests = selector("apiserver_request_total", labels)
    failed = selector("apiserver_request_total", labels, code="~5..")
    board.graph(
        "API server errors",
        q(f"sum({rate(failed)}) / sum({rate(requests)})", "5xx share"),
        unit="percentunit",
        description="Share of API server requests answered with a 5xx.",
        width=10,
    )
    board.graph(
        "Container restarts (1 h)",
        q(
            "sum by (namespace) "
            f"(increase({selector('kube_pod_container_status_restarts_total', labels)}[1h]))",
            "{{namespace}}",
        ),
        unit="short",
        description="Container restarts in the last hour, per namespace.",
        width=10,
    )


# Kinds whose servers run on hosts of their own, so node_exporter's USE panels apply.
ON_HOSTS = frozenset(
    {"postgres", "mongodb", "clickhouse", "redis", "kafka", "nats", "vault", "elasticsearch"}
)

KIND_PANELS: dict[str, KindPanels] = {
    "postgres": postgres,
    "redis": redis,
    "kafka": kafka,
    "nats": nats,
    "clickhouse": clickhouse,
    "s3": s3,
    "vault": vault,
    "mongodb": mongodb,
    "elasticsearch": elasticsearch,
    "kubernetes": kubernetes,
}
