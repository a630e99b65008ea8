"""Certificate expiry over the whole chain: a 60-day leaf under a CA expiring in 5 days expires in 5 days."""

from __future__ import annotations

import subprocess
import sys

import pytest
from chain_servers import ChainServers
from probe_support import make_target, run_one
from prometheus_client.parser import text_string_to_metric_families

from sre.probes.model import Reason, Status
from sre.probes.output import prometheus

pytestmark = pytest.mark.integration
EXPIRY = "probe_ssl_earliest_cert_expiry"


def test_a_sent_ca_that_expires_first_is_judged(chain: ChainServers) -> None:
    result = run_one(make_target(f"https://localhost:{chain.with_ca}/healthz", ca_file=chain.ca_file))
    assert result.facts["leaf_not_after"] == chain.leaf_not_after
    assert result.facts["cert_not_after"] == chain.ca_not_after
    assert result.facts["chain_not_after"] == chain.ca_not_after
    assert (result.status, result.reason) == (Status.degraded, Reason.cert_expiring)
    text = prometheus.render([result], labelled=False)
    expiry = [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == EXPIRY]
    assert expiry == [chain.ca_not_after]


def test_the_trusted_root_counts_for_the_verified_chain_only(chain: ChainServers) -> None:
    result = run_one(make_target(f"https://localhost:{chain.leaf_only}/healthz", ca_file=chain.ca_file))
    # Sent: the leaf only, so the presented chain's earliest is the leaf's (as blackbox's
    # probe_ssl_earliest_cert_expiry); the verified chain ends at the CA, which expires first.
    assert result.facts["cert_not_after"] == chain.leaf_not_after
    assert result.facts["chain_not_after"] == chain.ca_not_after
    assert result.status is Status.ok


def test_chain_reading_works_on_this_python(chain: ChainServers) -> None:
    import socket
    import ssl

    from sre.probes import tlsinfo

    context = ssl.create_default_context(cafile=str(chain.ca_file))
    with (
        socket.create_connection(("127.0.0.1", chain.with_ca)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert len(tlsinfo._chain(tls, "unverified")) == 2
        assert len(tlsinfo._chain(tls, "verified")) == 2


def test_certificates_read_once_give_the_same_facts_each_probe(chain: ChainServers) -> None:
    """The leaf's facts and the chain's expiries are remembered by their DER bytes; each result gets
    its own copy (a later result never shares a list with an earlier one)."""
    url = f"https://localhost:{chain.with_ca}/healthz"
    first = run_one(make_target(url, ca_file=chain.ca_file))
    first.facts["cert_sans"].append("changed")
    second = run_one(make_target(url, ca_file=chain.ca_file))
    assert "changed" not in second.facts["cert_sans"]
    names = ("cert_sha256", "cert_subject", "cert_issuer", "leaf_not_after", "cert_not_after")
    assert all(first.facts[n] == second.facts[n] for n in names)
    assert second.facts["cert_not_after"] == chain.ca_not_after


def test_the_chain_is_read_without_cryptography(chain: ChainServers) -> None:
    """The ssl module decodes verified certificates itself; `cryptography` (10 MiB) stays unloaded."""
    code = (
        "import sys, ssl, socket\n"
        "from sre.probes import tlsinfo\n"
        f"ctx = ssl.create_default_context(cafile={str(chain.ca_file)!r})\n"
        f"raw = socket.create_connection(('127.0.0.1', {chain.with_ca}))\n"
        "tls = ctx.wrap_socket(raw, server_hostname='localhost')\n"
        "print([tlsinfo._not_after(*c) for c in tlsinfo._chain_certs(tls, 'verified')])\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    expiries, loaded = out.splitlines()
    assert expiries == f"[{chain.leaf_not_after}, {chain.ca_not_after}]"
    assert loaded == "False"
