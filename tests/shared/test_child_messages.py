"""The child-process line protocol (shared/child_messages.py): format/parse round trip, unknown
tags, payloads with spaces, progress/step payloads and the child's main wrapper."""

from __future__ import annotations

import io
import json

import pytest

from shared import child_messages as msg
from shared.errors import UserError


@pytest.mark.parametrize("tag", msg.TAGS)
def test_format_parse_round_trip(tag):
    payload = "0.2500 writing frame 8/49" if tag == msg.PROGRESS else "a b  c"
    line = msg.format(tag, payload)
    assert line == f"{tag} {payload}"
    assert msg.parse(line) == (tag, payload)
    assert msg.parse(line + "\n") == (tag, payload)


def test_payload_with_spaces_and_json_is_kept_whole():
    result = {"package": "/tmp/a b/control.npz", "notes": ["size 130x60 snapped to 128x64"]}
    tag, payload = msg.parse(msg.format(msg.RESULT, json.dumps(result)) + "\n")
    assert tag == msg.RESULT and json.loads(payload) == result
    assert msg.parse("LTX_NOTE size 130x60  snapped ") == (msg.NOTE, "size 130x60  snapped ")
    assert msg.parse("LTX_NOTE ") == (msg.NOTE, "")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "LTX_NOTE",
        "LTX_PROBE_OK",
        "LTX_NOTES x",
        "ltx_note x",
        " LTX_NOTE x",
        "Fra:1 Mem:12.3M | rendering",
        "LTX_NOTE\tx",
    ],
)
def test_other_lines_are_not_messages(line):
    assert msg.parse(line) is None


def test_format_refuses_unknown_tag():
    with pytest.raises(ValueError, match="unknown child message tag 'LTX_WHAT'"):
        msg.format("LTX_WHAT", "x")


def test_progress_and_step_payloads():
    assert msg.progress_payload(0.9 * 0.5, "depth frame 3/9") == "0.4500 depth frame 3/9"
    assert msg.parse_progress("0.4500 depth frame 3/9") == (0.45, "depth frame 3/9")
    assert msg.parse_progress("1.0000") == (1.0, "")
    assert msg.parse_step("capture-pose capturing pose") == ("capture-pose", "capturing pose")


def test_emit_writes_one_flushed_line():
    out = io.StringIO()
    msg.emit(msg.NOTE, "tracking Ball, Walker", file=out)
    assert out.getvalue() == "LTX_NOTE tracking Ball, Walker\n"


def test_run_main_maps_user_error_to_ltx_error_and_exit_2(capsys):
    def refuse():
        raise UserError("scene: no such file: x.blend; give the path of a .blend file", "scene")

    assert msg.run_main(refuse) == 2
    captured = capsys.readouterr()
    assert captured.err == "LTX_ERROR scene: no such file: x.blend; give the path of a .blend file\n"
    assert captured.out == ""
    assert msg.run_main(lambda: None) == 0
    with pytest.raises(RuntimeError):
        msg.run_main(lambda: (_ for _ in ()).throw(RuntimeError("crash")))
