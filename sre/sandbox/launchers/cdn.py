"""cdn: nginx serving the sandbox's static SPA over HTTPS, TLS 1.3 only, one server per running tier."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.gateway import client_context
from sre.sandbox.render import render
from sre.sandbox.supervisor import ProcessSpec

SPA_FILES = ("index.html", "app.js", "app.css")


@dataclass(frozen=True)
class Site:
    tier: str
    port: int


def _copy_spa(run: Run) -> str:
    root = run.folder("cdn", "spa")
    source = resources.files("sre.sandbox") / "templates" / "spa"
    for name in SPA_FILES:
        with resources.as_file(source / name) as path:
            shutil.copyfile(path, root / name)
        (root / name).chmod(0o644)
    return str(root)


def start(run: Run) -> None:
    folder = run.folder("cdn")
    temp = run.folder("cdn", "tmp", mode=0o700)
    sites = [Site(t, run.port(f"cdn.{t}")) for t in (run.tier("active"), run.tier("hot")) if t]
    conf = folder / "nginx.conf"
    conf.write_text(
        render(
            "nginx.conf.j2",
            pid_file=run.folder("run", mode=0o700) / "nginx.pid",
            access_log=run.log("nginx-access"),
            temp=temp,
            cert=run.tls.cert,
            key=run.tls.key,
            root=_copy_spa(run),
            sites=sites,
            user=None,
        ),
        encoding="utf-8",
    )
    tls = client_context(run.tls.ca_cert)
    run.supervisor.start(
        ProcessSpec(
            name="nginx",
            component="cdn",
            argv=[
                str(run.binary("nginx")),
                "-e",
                "stderr",
                "-p",
                str(folder),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            health=health.all_of(
                *(health.http_get(s.port, "/", tls=tls, accept=lambda b: 'id="app"' in b) for s in sites)
            ),
            ports={s.tier: s.port for s in sites},
        )
    )
    for site in sites:
        run.serve(run.service(), site.tier, run.url("https", site.port), process="nginx")
    run.serve_cold(run.service(), "cdn", "https", "the CDN")


LAUNCHER = Launcher(
    name="cdn",
    title="nginx (Debian nginx-light): static SPA over HTTPS, TLS 1.3 only",
    kinds=(),
    binaries=(binaries.apt("nginx", "nginx-light"),),
    start=start,
)
