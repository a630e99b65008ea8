"""Talk to Elasticsearch through the official client; turn every failure into one clear line.

The client speaks over httpx (`node_class="httpx"`), the HTTP library the project already uses,
so tests intercept exactly the transport production runs (respx). Nothing is retried: a failed
request is reported, not hidden. The API key is passed to the client and never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sre.elk.meta import Body
from sre.elk.names import Kind
from sre.errors import InputError, SreError
from sre.urls import check_http_url, without_credentials

if TYPE_CHECKING:
    from collections.abc import Callable

    from elasticsearch import Elasticsearch

T = TypeVar("T")

PATHS: dict[Kind, str] = {
    "ilm": "_ilm/policy",
    "pipelines": "_ingest/pipeline",
    "component_templates": "_component_template",
    "index_templates": "_index_template",
}
API_KEY_HINT = "ELASTICSEARCH_API_KEY or --api-key-file"
PRIVILEGES = "cluster privileges manage_ilm, manage_pipeline and manage_index_templates, and manage on logs-*"


class ClusterError(SreError):
    """The cluster refused, failed or did not answer; the message names the request."""


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0

    @property
    def safe_url(self) -> str:
        """The URL without any user:password part, fit for messages."""
        return without_credentials(self.url)


@dataclass(frozen=True)
class ServerInfo:
    version: str
    flavor: str
    cluster_name: str


def client_major() -> int:
    from importlib.metadata import version

    return int(version("elasticsearch").split(".")[0])


def _reason(body: Any) -> str:
    """The `type: reason` of an Elasticsearch error body, or a short form of whatever came back."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            kind = error.get("type", "error")
            reason = error.get("reason")
            if not reason:
                causes = error.get("root_cause") or [{}]
                reason = causes[0].get("reason") if isinstance(causes[0], dict) else None
            caused_by = error.get("caused_by")
            extra = f" (caused by: {caused_by.get('reason')})" if isinstance(caused_by, dict) else ""
            return f"{kind}: {reason or 'no reason given'}{extra}"
        if isinstance(error, str):
            return error
    text = " ".join(str(body).split()) if body not in (None, "", {}) else "empty body"
    return text if len(text) <= 200 else text[:197] + "..."


def describe(exc: Exception, conn: Connection) -> str:
    """One line for any failure of the client, with what to do about it where that is known."""
    import elasticsearch as es

    if isinstance(exc, es.UnsupportedProductError):
        return (
            f"{conn.safe_url} is not Elasticsearch (a success response without the "
            "X-Elastic-Product: Elasticsearch header)"
        )
    if isinstance(exc, es.ApiError):
        status = exc.meta.status
        reason = _reason(exc.body)
        if status == 401:
            return f"401 authentication failed: {reason}; check the API key ({API_KEY_HINT})"
        if status == 403:
            return f"403 not allowed: {reason}; the API key needs the {PRIVILEGES}"
        if status == 404:
            return f"404 not found: {reason}"
        if status == 409:
            return f"409 conflict: {reason}; it changed on the cluster meanwhile: run `sre elk diff` again"
        if status in (406, 415) or (status == 400 and "media-type" in reason.lower()):
            return (
                f"{status} the server rejects this client's API version (Elasticsearch {client_major()}.x): "
                f"{reason}; use a cluster of that major version"
            )
        if status >= 500:
            return f"{status} server error: {reason}; the cluster may be unhealthy, try again later"
        return f"{status} rejected: {reason}"
    if isinstance(exc, es.ConnectionTimeout):
        return f"no answer from {conn.safe_url} within {conn.timeout:g}s (timeout)"
    if isinstance(exc, es.SSLError):
        return f"TLS handshake with {conn.safe_url} failed: {exc.message}; check --ca-file"
    if isinstance(exc, es.ConnectionError):
        return f"cannot connect to {conn.safe_url}: {exc.message}"
    if isinstance(exc, es.SerializationError):
        return f"{conn.safe_url} answered with something that is not Elasticsearch JSON: {exc.message}"
    if isinstance(exc, es.TransportError):
        return f"transport error talking to {conn.safe_url}: {exc.message}"
    return f"unexpected {type(exc).__name__} from the client: {exc}"


class Cluster:
    def __init__(self, conn: Connection, client: Elasticsearch) -> None:
        self.conn = conn
        self.es = client

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import elasticsearch as es

        try:
            return fn()
        except (es.ApiError, es.TransportError) as exc:
            raise ClusterError(f"{what}: {describe(exc, self.conn)}") from None

    def _call_or_none(self, what: str, fn: Callable[[], T]) -> T | None:
        """As _call, but a 404 means "there is none" rather than an error."""
        import elasticsearch as es

        try:
            return fn()
        except es.NotFoundError:
            return None
        except (es.ApiError, es.TransportError) as exc:
            raise ClusterError(f"{what}: {describe(exc, self.conn)}") from None

    # --- the server ------------------------------------------------------------------------------

    def check_server(self) -> ServerInfo:
        """GET /: refuse what is not Elasticsearch, or a major version this client cannot talk to."""
        info = self._call("GET /", lambda: self.es.info().body)
        version = info.get("version") if isinstance(info, dict) else None
        if not isinstance(version, dict) or "number" not in version:
            raise ClusterError(f"GET /: {self.conn.safe_url} is not Elasticsearch (no version in its answer)")
        number = str(version["number"])
        if (
            version.get("distribution") == "opensearch"
            or "opensearch" in str(info.get("tagline", "")).lower()
        ):
            raise ClusterError(
                f"GET /: {self.conn.safe_url} is OpenSearch {number}, not Elasticsearch; it has no ILM or "
                "composable data stream templates of this kind"
            )
        flavor = str(version.get("build_flavor", "default"))
        if flavor == "serverless":
            raise ClusterError(
                f"GET /: {self.conn.safe_url} is Elasticsearch Serverless, which has no ILM policies"
            )
        major = int(number.split(".", maxsplit=1)[0]) if number.split(".", maxsplit=1)[0].isdigit() else 0
        ours = client_major()
        # The client is forward compatible within its major and sends compatible-with=<major>;
        # an older server rejects that header, a newer major accepts it.
        if major < ours:
            raise ClusterError(
                f"GET /: {self.conn.safe_url} runs Elasticsearch {number}, older than this client "
                f"(elasticsearch-py {ours}.x, which an {major}.x server refuses); upgrade the cluster or "
                f"install sre with elasticsearch {major}.x"
            )
        return ServerInfo(version=number, flavor=flavor, cluster_name=str(info.get("cluster_name", "")))

    # --- objects ---------------------------------------------------------------------------------

    def get(self, kind: Kind, name: str) -> Body | None:
        """The object as a PUT body, or None when it does not exist."""
        what = f"GET /{PATHS[kind]}/{name}"
        getters: dict[Kind, Callable[[], Any]] = {
            "ilm": lambda: self.es.ilm.get_lifecycle(name=name),
            "pipelines": lambda: self.es.ingest.get_pipeline(id=name),
            "component_templates": lambda: self.es.cluster.get_component_template(name=name),
            "index_templates": lambda: self.es.indices.get_index_template(name=name),
        }
        answer = self._call_or_none(what, lambda: getters[kind]().body)
        if answer is None:
            return None
        body = _unwrap(kind, name, answer)
        if body is None:
            raise ClusterError(
                f"{what}: unexpected answer, not an Elasticsearch {kind} body: {_reason(answer)}"
            )
        return body

    def put(self, kind: Kind, name: str, body: Body, *, create: bool) -> None:
        what = f"PUT /{PATHS[kind]}/{name}"
        # create=true on templates: if someone made one of that name since we looked, fail, don't replace.
        putters: dict[Kind, Callable[[], Any]] = {
            "ilm": lambda: self.es.ilm.put_lifecycle(name=name, body=body),
            "pipelines": lambda: self.es.ingest.put_pipeline(id=name, body=body),
            "component_templates": lambda: self.es.cluster.put_component_template(
                name=name, body=body, create=create
            ),
            "index_templates": lambda: self.es.indices.put_index_template(
                name=name, body=body, create=create
            ),
        }
        answer = self._call(what, lambda: putters[kind]().body)
        if not (isinstance(answer, dict) and answer.get("acknowledged") is True):
            raise ClusterError(f"{what}: not acknowledged by the cluster: {_reason(answer)}")

    def index_templates(self) -> dict[str, Body]:
        """Every index template on the cluster (the stack's, Fleet's, anyone's), by name."""
        what = f"GET /{PATHS['index_templates']}"
        answer = self._call(what, lambda: self.es.indices.get_index_template().body)
        items = answer.get("index_templates") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise ClusterError(f"{what}: unexpected answer, not a list of index templates: {_reason(answer)}")
        return {
            str(item["name"]): item["index_template"]
            for item in items
            if isinstance(item, dict) and isinstance(item.get("index_template"), dict) and "name" in item
        }

    def missing_components(self, names: list[str]) -> list[str]:
        return [n for n in names if self.get("component_templates", n) is None]

    def data_streams(self, pattern: str) -> list[str]:
        answer = self._call(
            f"GET /_data_stream/{pattern}", lambda: self.es.indices.get_data_stream(name=pattern).body
        )
        streams = answer.get("data_streams") if isinstance(answer, dict) else None
        if not isinstance(streams, list):
            raise ClusterError(f"GET /_data_stream/{pattern}: unexpected answer: {_reason(answer)}")
        return sorted(str(s["name"]) for s in streams if isinstance(s, dict) and "name" in s)

    def lazy_rollover(self, stream: str) -> None:
        # lazy: the next write rolls over; no empty backing index is made for an idle stream.
        self._call(
            f"POST /{stream}/_rollover?lazy=true", lambda: self.es.indices.rollover(alias=stream, lazy=True)
        )


def _unwrap(kind: Kind, name: str, answer: Any) -> Body | None:
    """GET answers wrap the object differently per kind; return it in the shape PUT takes."""
    if not isinstance(answer, dict):
        return None
    if kind == "ilm":
        entry = answer.get(name)
        policy = entry.get("policy") if isinstance(entry, dict) else None
        return {"policy": policy} if isinstance(policy, dict) else None
    if kind == "pipelines":
        entry = answer.get(name)
        return entry if isinstance(entry, dict) else None
    key = "component_templates" if kind == "component_templates" else "index_templates"
    inner = "component_template" if kind == "component_templates" else "index_template"
    for item in answer.get(key) or []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(inner), dict):
            found: Body = item[inner]
            return found
    return None


def connect(conn: Connection) -> Cluster:
    from elastic_transport import HttpxHttpNode
    from elasticsearch import Elasticsearch

    check_http_url(conn.url, what="--url")
    if conn.ca_file is not None and not conn.ca_file.is_file():
        raise InputError(f"--ca-file: {conn.ca_file}: file not found")
    tls: dict[str, Any] = {"ca_certs": str(conn.ca_file)} if conn.ca_file else {}
    client = Elasticsearch(
        conn.url,
        api_key=conn.api_key,
        node_class=HttpxHttpNode,
        request_timeout=conn.timeout,
        max_retries=0,
        retry_on_timeout=False,
        **tls,
    )
    return Cluster(conn, client)
