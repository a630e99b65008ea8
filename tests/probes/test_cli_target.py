"""`sre probe --target` and `--vantage` given hostile values: one line naming the flag, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sre_cli import exit_code as sre


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        ("not a url", "https", "contains a space"),
        ("ftp://x", "https", "ftp:// does not fit a https probe"),
        ("https://127.0.0.1:99999/", "https", "port '99999'"),
        ("https://" + "a" * 10_000 + ".example/", "https", "longer than 2048"),
        ("https://[::1/", "https", "unclosed ["),
        ("https://admin:pw@127.0.0.1/", "https", "credentials"),
        ("https://admin:pw@127.0.0.1/a b", "https", "space"),
        ("127.1:80", "tcp", "dotted-quad"),
        ("https://x\x1b[2J/", "https", "character"),
    ],
)
def test_bad_target_is_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, kind: str, message: str
) -> None:
    code = sre("probe", "--target", target, "--kind", kind, "--platform", str(tmp_path / "none.yaml"))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "--target" in err and message in err
    assert "pw" not in err and "Traceback" not in err
