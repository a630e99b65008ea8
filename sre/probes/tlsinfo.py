"""TLS facts every check records the same way: version, cipher and the leaf certificate.

Any check that holds an `ssl.SSLObject` (HTTP, a raw TLS handshake, a database
driver's socket) calls `record_session`; a check whose driver only hands out the
certificate's DER bytes calls `record_certificate`. A failed verification is
turned into a precise reason by `verification_error`, and the certificate is
still reported through a second, unverified handshake (`record_unverified`).
"""

from __future__ import annotations

import _ssl
import asyncio
import calendar
import hashlib
import ssl
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason

# OpenSSL X509_V_ERR_* codes that have a reason of their own.
_CERT_HAS_EXPIRED = 10
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


def version_name(raw: str | None) -> str | None:
    """`TLSv1.3` -> `1.3` (the form of the platform's policy)."""
    if not raw:
        return None
    return raw.removeprefix("TLSv").removeprefix("SSLv")


def below(version: str, minimum: str) -> bool:
    """Whether a TLS version ("1.2") is older than the policy's minimum ("1.3")."""
    try:
        return TLS_VERSIONS.index(version) < TLS_VERSIONS.index(minimum)
    except ValueError:
        return version < minimum


CACHE_SIZE = 256  # certificates remembered: the same few come back probe after probe


class Bounded(OrderedDict[Any, Any]):
    """A least-recently-used map of at most `limit` entries."""

    def __init__(self, limit: int = CACHE_SIZE) -> None:
        super().__init__()
        self.limit = limit

    def find(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)
        return value


# (leaf DER, verified) -> the leaf's facts; (DER,) -> a certificate's expiry. Reading a certificate
# (the ssl module's decoding, or `cryptography`) was a tenth of an exporter's probe.
_LEAVES = Bounded()
_EXPIRIES = Bounded()


def record_session(ctx: ProbeContext, ssl_object: ssl.SSLObject | ssl.SSLSocket) -> None:
    version = version_name(ssl_object.version())
    if version:
        ctx.fact("tls_version", version)
    cipher = ssl_object.cipher()
    if cipher:
        ctx.fact("tls_cipher", cipher[0])
    leaf = ssl_object.getpeercert(binary_form=True)
    if leaf:
        key = (leaf, ssl_object.context.verify_mode != ssl.CERT_NONE)
        facts = _LEAVES.find(key) or _LEAVES.keep(key, _leaf_facts(ssl_object, leaf))
        ctx.observation.facts.update({k: list(v) if isinstance(v, list) else v for k, v in facts.items()})
    record_chain(ctx, ssl_object)


def _leaf_facts(ssl_object: ssl.SSLObject | ssl.SSLSocket, leaf: bytes) -> dict[str, object]:
    # A verified peer's certificate is already decoded by the ssl module (cheap); an
    # unverified one is only available as DER, which `cryptography` reads.
    facts: dict[str, object] = {"cert_sha256": hashlib.sha256(leaf).hexdigest()}  # blackbox's label
    decoded = ssl_object.getpeercert()
    facts.update(decoded_facts(decoded) if decoded else der_facts(leaf))
    return facts


def _chain(ssl_object: ssl.SSLObject | ssl.SSLSocket, which: str) -> list[bytes]:
    """The DER certificates of the presented (`unverified`) or `verified` chain, leaf first."""
    return [der for der, _ in _chain_certs(ssl_object, which)]


def _chain_certs(ssl_object: ssl.SSLObject | ssl.SSLSocket, which: str) -> list[tuple[bytes, Any]]:
    """(DER, the ssl module's certificate object or None) of a chain, leaf first.

    3.11 to 3.13 have `get_unverified_chain()`/`get_verified_chain()` on the private `_sslobj` (since
    3.10), returning certificate objects that decode themselves; 3.13 also has public methods
    returning DER bytes only, used when the private ones are gone.
    """
    inner = getattr(ssl_object, "_sslobj", None)
    private = getattr(inner, f"get_{which}_chain", None)
    if private is not None:
        return [(cert.public_bytes(_ssl.ENCODING_DER), cert) for cert in private() or []]
    public = getattr(ssl_object, f"get_{which}_chain", None)
    if public is None:
        return []
    return [(bytes(der), None) for der in public() or []]


def _not_after(der: bytes, cert: Any = None) -> int | None:
    """A certificate's expiry; the same CA and intermediates come back probe after probe."""
    found = _EXPIRIES.find((der,))
    if found is not None:
        return int(found) if found >= 0 else None
    when: int | None
    info = getattr(cert, "get_info", None)
    if info is not None:
        try:
            when = cert_time(info()["notAfter"])
        except (KeyError, ValueError):
            when = None
    else:
        from cryptography import x509

        try:
            when = int(x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp())
        except ValueError:
            when = None
    _EXPIRIES.keep((der,), -1 if when is None else when)
    return when


def record_chain(ctx: ProbeContext, ssl_object: ssl.SSLObject | ssl.SSLSocket) -> None:
    """Expiry over every certificate the server sent (`cert_not_after`, what is judged; the leaf's
    own stays in `leaf_not_after`) and over the verified chain up to the trusted root
    (`chain_not_after`): a 60-day leaf under a CA that expires in 5 days expires in 5 days."""
    facts = ctx.observation.facts
    leaf = facts.get("cert_not_after")
    if not isinstance(leaf, int | float):
        return
    facts["leaf_not_after"] = leaf
    try:
        presented = _chain_certs(ssl_object, "unverified")
        verified = _chain_certs(ssl_object, "verified")
    except (ssl.SSLError, ValueError):
        return
    sent = [t for t in (_not_after(*c) for c in presented[1:]) if t is not None]
    facts["cert_not_after"] = min([leaf, *sent])
    trusted = [t for t in (_not_after(*c) for c in verified[1:]) if t is not None]
    facts["chain_not_after"] = min([leaf, *trusted])


_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "domainComponent": "DC",
}


def _rfc4514(rdns: Any) -> str:
    # The ssl module lists RDNs in certificate order; RFC 4514 writes them last first.
    parts = ["+".join(f"{_SHORT_NAMES.get(k, k)}={v}" for k, v in rdn) for rdn in rdns]
    return ",".join(reversed(parts))


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def cert_time(text: str) -> int:
    """`Nov 26 09:00:00 2027 GMT` in Unix seconds (what ssl.cert_time_to_seconds does, without strptime)."""
    month, day, clock, year, _ = text.split()
    hour, minute, second = clock.split(":")
    return calendar.timegm(
        (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )


def record_decoded(ctx: ProbeContext, cert: dict[str, Any]) -> None:
    """The same facts as `record_certificate`, from `SSLObject.getpeercert()` of a verified peer."""
    ctx.observation.facts.update(decoded_facts(cert))


def decoded_facts(cert: dict[str, Any]) -> dict[str, object]:
    facts: dict[str, object] = {}
    if "notAfter" in cert:
        facts["cert_not_after"] = cert_time(cert["notAfter"])
    facts["cert_subject"] = _rfc4514(cert.get("subject", ()))
    facts["cert_issuer"] = _rfc4514(cert.get("issuer", ()))
    sans = cert.get("subjectAltName", ())
    facts["cert_sans"] = [value.strip() for kind, value in sans if kind in ("DNS", "IP Address")]
    return facts


def record_certificate(ctx: ProbeContext, der: bytes) -> None:
    """Expiry (Unix seconds), subject, issuer and SANs of the leaf certificate."""
    ctx.observation.facts.update(der_facts(der))


def der_facts(der: bytes) -> dict[str, object]:
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise ProbeError(Reason.cert_invalid, f"the server's certificate cannot be read: {exc}") from None
    facts: dict[str, object] = {
        "cert_not_after": int(cert.not_valid_after_utc.timestamp()),
        "cert_subject": cert.subject.rfc4514_string(),
        "cert_issuer": cert.issuer.rfc4514_string(),
    }
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        facts["cert_sans"] = []
        return facts
    names: list[str] = [str(n) for n in sans.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    facts["cert_sans"] = names
    return facts


def handshake_error(exc: ssl.SSLError | OSError, server: str) -> ProbeError:
    """The reason a handshake failed; the caller reports the certificate separately."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return verification_error(exc, server)
    text = str(getattr(exc, "reason", None) or exc)
    lowered = text.lower().replace("_", " ")
    if "protocol version" in lowered or "unsupported protocol" in lowered:
        return ProbeError(
            Reason.tls_version_below_policy, f"{server} offers no TLS version this prober accepts ({text})"
        )
    if "wrong version number" in lowered or "record layer failure" in lowered:
        return ProbeError(Reason.protocol, f"{server} does not speak TLS on this port ({text})")
    return ProbeError(Reason.tls_handshake, f"TLS handshake with {server} failed: {text}")


def verification_error(exc: ssl.SSLCertVerificationError, server: str) -> ProbeError:
    code = exc.verify_code
    detail = exc.verify_message or str(exc)
    if code == _CERT_HAS_EXPIRED:
        return ProbeError(Reason.cert_expired, f"{server}: certificate has expired")
    if code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
        return ProbeError(Reason.hostname_mismatch, f"{server}: {detail}")
    return ProbeError(Reason.cert_invalid, f"{server}: certificate not trusted: {detail}")


async def record_unverified(ctx: ProbeContext, ip: str, port: int, server_name: str | None) -> None:
    """Report the certificate a server presents even though it failed verification.

    A second handshake on a new connection, with verification off; whatever goes
    wrong here is ignored: the first failure is the one that counts.
    """
    try:
        _, writer = await asyncio.open_connection(
            ip, port, ssl=ctx.ssl_context(verify=False), server_hostname=server_name or ip
        )
    except (OSError, ssl.SSLError):
        return
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            record_session(ctx, ssl_object)
    except ProbeError:
        pass
    finally:
        writer.transport.abort()


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
