"""Token file, bearer check and Host policy (backend/server/auth.py)."""

from __future__ import annotations

import os
import stat

import pytest

from backend.server.auth import HostPolicy, host_name, load_or_create_token, token_matches
from shared.errors import UserError


def test_token_created_owner_only_and_reused(tmp_path):
    token = load_or_create_token(tmp_path / "data")
    path = tmp_path / "data" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40 and path.read_text().strip() == token
    assert load_or_create_token(tmp_path / "data") == token  # second start: same token
    assert load_or_create_token(tmp_path / "other") != token  # random per data dir


def test_token_file_with_wide_permissions_is_tightened(tmp_path):
    token = load_or_create_token(tmp_path)
    os.chmod(tmp_path / "token", 0o644)
    assert load_or_create_token(tmp_path) == token
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600


@pytest.mark.parametrize("content", [b"short\n", b"", b"\xff\xfe not text at all, long enough", b"two words " * 3])
def test_unusable_token_file_is_a_user_error_not_a_traceback(tmp_path, content):
    (tmp_path / "token").write_bytes(content)
    os.chmod(tmp_path / "token", 0o600)
    with pytest.raises(UserError, match="delete it and restart|delete the file and restart") as err:
        load_or_create_token(tmp_path)
    assert err.value.field == "token"


def test_token_matches_exactly():
    assert token_matches("Bearer abc123", "abc123")
    assert token_matches("bearer abc123", "abc123")
    assert not token_matches("Bearer abc1234", "abc123")
    assert not token_matches("Bearer ", "abc123")
    assert not token_matches("Basic abc123", "abc123")
    assert not token_matches(None, "abc123")
    assert not token_matches("abc123", "abc123")


@pytest.mark.parametrize(
    "header, name",
    [
        ("127.0.0.1:8765", "127.0.0.1"),
        ("LOCALHOST:80", "localhost"),
        ("[::1]:8765", "::1"),
        ("localhost", "localhost"),
        ("evil.example:8765", "evil.example"),
        ("[::1]", "::1"),
        ("localhost:80@evil.com", None),
        ("localhost:80:80", None),
        ("local host", None),
        ("::1", None),
        ("localhost:", None),
        ("[::1]x", None),
    ],
)
def test_host_name(header, name):
    assert host_name(header) == name


def test_loopback_server_accepts_only_its_names():
    policy = HostPolicy("127.0.0.1")
    assert policy.loopback_only
    for ok in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "localhost"):
        assert policy.allows(ok), ok
    for bad in (
        "evil.example:8765",
        "192.168.1.5:8765",
        "attacker.localhost.evil:80",
        "",
        None,
        "localhost:80@evil.com",
        "127.0.0.1:8765/../x",
    ):
        assert not policy.allows(bad), bad


def test_exposed_server_accepts_ip_literals_and_extra_names_only():
    policy = HostPolicy("0.0.0.0", ("gpu-box.lan",))
    assert not policy.loopback_only
    assert policy.allows("192.168.1.5:8765")  # IP literals cannot be DNS-rebound
    assert policy.allows("GPU-BOX.lan:8765")
    assert policy.allows("[fe80::1]:8765")
    assert not policy.allows("evil.example:8765")
