"""The hosts file as blackbox's resolver reads it: first (when nsswitch says files), in file order,
looked at again only after 5 s."""

from __future__ import annotations

from pathlib import Path

from sre.probes.blackbox.hosts import MAX_AGE, HostsFile, files_first, parse


def test_parse_keeps_file_order_and_skips_what_does_not_parse() -> None:
    names = parse(
        "# comment\n127.0.0.1 localhost Local.Example.\n::1 localhost ip6-localhost # trailing\n"
        "not-an-ip broken\n10.0.0.1\nfe80::1%eth0 linklocal\n127.0.0.1 localhost\n"
    )
    assert names["localhost"] == ["127.0.0.1", "::1"]
    assert names["local.example"] == ["127.0.0.1"]
    assert names["linklocal"] == ["fe80::1"]
    assert "broken" not in names and "10.0.0.1" not in names


def test_files_first_reads_the_hosts_line(tmp_path: Path) -> None:
    conf = tmp_path / "nsswitch.conf"
    assert files_first(conf)  # no file: Go's default, files then dns
    conf.write_text("passwd: files\nhosts:   files mdns4_minimal dns # local\n")
    assert files_first(conf)
    conf.write_text("hosts: dns files\n")
    assert not files_first(conf)
    conf.write_text("hosts:\n")
    assert not files_first(conf)


def test_the_file_is_read_again_only_after_max_age(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 web\n")
    now = [0.0]
    hosts = HostsFile(path, enabled=True, clock=lambda: now[0])
    assert hosts.lookup("WEB.") == ["127.0.0.1"]
    path.write_text("127.0.0.2 web other\n")
    now[0] = MAX_AGE / 2
    assert hosts.lookup("web") == ["127.0.0.1"]
    now[0] = MAX_AGE + 0.1
    assert hosts.lookup("web") == ["127.0.0.2"] and hosts.lookup("other") == ["127.0.0.2"]
    path.unlink()
    now[0] = 3 * MAX_AGE
    assert hosts.lookup("web") == []


def test_a_lookup_is_a_copy_and_disabled_means_the_resolver(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 web\n")
    hosts = HostsFile(path, enabled=True)
    hosts.lookup("web").append("10.0.0.9")
    assert hosts.lookup("web") == ["127.0.0.1"]
    assert HostsFile(path, enabled=False).lookup("web") == []
