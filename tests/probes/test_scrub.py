"""No secret reaches a result, in any form: the run's scrubber (sre/scrub.py) and a server that echoes.

The echo server is a real HTTP server on a free loopback port that answers 500 with every request
header in its body and the Authorization header echoed back as a response header, as some proxies
and debug endpoints do.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from probe_support import make_target, run_one
from rich.console import Console

from sre.platform.model import SecretSource
from sre.probes.conditions import Condition
from sre.probes.context import RunContext
from sre.probes.model import Result
from sre.probes.output import jsonfile, junit, prometheus, table
from sre.scrub import Scrubber, patterns
from sre.urls import public_url

SECRET = "p@ss/w0rd+with=odd&chars"
USER = "probe-user"


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        lines = [f"Authorization: {auth}"] + [f"{k}: {v}" for k, v in self.headers.items()]
        lines.append(f"you sent ?password={quote(SECRET, safe='')} and {quote(SECRET, safe='')}")
        body = "\n".join(lines).encode()
        self.send_response(500)
        self.send_header("X-Echo-Auth", auth)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _outputs(result: Result) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=400, color_system=None).print(table.render([result], ["primary"], ["dmz"]))
    return "\n".join(
        [
            jsonfile.render([result], vantage="v", environment="e", started_at=0.0),
            junit.render([result], ["primary"]),
            prometheus.render([result]),
            buffer.getvalue(),
            repr(result),
        ]
    )


def _forms() -> list[str]:
    basic = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    return [SECRET, quote(SECRET, safe=""), basic, base64.b64encode(SECRET.encode()).decode()]


def _assert_clean(text: str) -> None:
    for form in _forms():
        assert form not in text, form


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, SecretSource]:
    monkeypatch.setenv("SRE_TEST_SECRET", SECRET)
    monkeypatch.setenv("SRE_TEST_USER", USER)
    return {"token": SecretSource(env="SRE_TEST_SECRET"), "api_key": SecretSource(env="SRE_TEST_SECRET")}


@pytest.mark.integration
def test_bearer_token_echoed_in_headers_and_conditions(
    echo: str, secret_env: dict[str, SecretSource]
) -> None:
    conditions = (
        Condition.parse('header.x-echo-auth == "nope"'),
        Condition.parse('body contains "nope"'),
    )
    target = make_target(
        echo,
        "http",
        secrets=secret_env,
        settings={"bearer_secret": "token", "valid_status_codes": [500]},
        conditions=conditions,
    )
    result = run_one(target)
    assert result.reason == "assertion" and "***" in result.message
    _assert_clean(_outputs(result))


@pytest.mark.integration
@pytest.mark.parametrize("auth", ["api_key", "basic"])
def test_api_key_and_basic_auth_echoed_in_an_error_body(
    echo: str, secret_env: dict[str, SecretSource], auth: str
) -> None:
    secrets = (
        {"api_key": secret_env["api_key"]}
        if auth == "api_key"
        else {"username": SecretSource(env="SRE_TEST_USER"), "password": secret_env["token"]}
    )
    result = run_one(make_target(echo, "elasticsearch", secrets=secrets))
    assert result.reason == "status_code" and "Authorization" in result.message
    _assert_clean(_outputs(result))


def test_the_scrubber_masks_each_form_and_what_looks_like_a_credential() -> None:
    scrub = Scrubber([SECRET])
    basic = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    scrub.add(basic)
    text = scrub.text(f"a {SECRET} b {quote(SECRET, safe='')} c Basic {basic} d")
    assert text == "a *** b *** c Basic *** d"
    assert scrub.value({"k": [SECRET, ("x", SECRET)]}) == {"k": ["***", ("x", "***")]}
    # Whatever the value, whether registered or not:
    assert patterns("authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x") == "authorization: Bearer ***"
    assert patterns("Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==") == (
        "Authorization: ApiKey ***"
    )
    assert patterns("see http://admin:pw@db.internal:5432/x") == "see http://***@db.internal:5432/x"
    signed = "https://b.s3.example/k?X-Amz-Credential=AKIA/x&X-Amz-Signature=abc123&x-id=GetObject"
    assert (
        patterns(signed) == "https://b.s3.example/k?X-Amz-Credential=***&X-Amz-Signature=***&x-id=GetObject"
    )
    assert patterns("Basic auth failed") == "Basic auth failed"  # words are not credentials
    assert Scrubber(["abc"]).text("abc") == "abc"  # too short to mask without masking words


def test_urls_shown_in_results_hide_credentials_and_signatures() -> None:
    url = "https://u:pw@h.example/x?sig=abc&X-Amz-Signature=def&sv=2024&token=t0k"
    shown = public_url(url)
    assert "pw" not in shown and "abc" not in shown and "def" not in shown and "t0k" not in shown
    assert "sv=2024" in shown


def test_a_run_context_registers_every_secret_it_hands_out(secret_env: dict[str, SecretSource]) -> None:
    from sre.probes.context import ProbeContext

    run = RunContext()
    ctx = ProbeContext(run, make_target("https://h.example", secrets=secret_env))
    assert ctx.secret("token") == SECRET
    assert run.scrubber.text(f"x{SECRET}x") == "x***x"


def test_a_secret_added_later_is_masked_in_a_text_already_scrubbed() -> None:
    """Scrubbed texts are remembered (the same facts come back each probe) until a secret is added."""
    scrubber = Scrubber()
    text = "subject CN=tok-4711-value"
    assert scrubber.text(text) == text
    scrubber.add("tok-4711-value")
    assert scrubber.text(text) == "subject CN=***"
    assert scrubber.text("Bearer abcdefgh12345678") == "Bearer ***"
    assert scrubber.text("Bearer\tabcdefgh12345678") == "Bearer\t***"
    assert scrubber.text("no-space-at-all-Bearer") == "no-space-at-all-Bearer"


def test_facts_are_scrubbed_as_values_are() -> None:
    scrubber = Scrubber(["hunter2-secret"])
    facts = {"n": 3, "x": 1.5, "ok": True, "none": None, "s": "pw hunter2-secret",
             "l": ["hunter2-secret", 1], "d": {"k": "hunter2-secret"}, "t": ("hunter2-secret",)}  # fmt: skip
    assert scrubber.facts(facts) == scrubber.value(facts)
    assert "hunter2-secret" not in repr(scrubber.facts(facts))
