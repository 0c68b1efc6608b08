"""The generated broker configuration: hashed passwords, no anonymous access, ACL by %u."""

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.mosquitto import BrokerError, TlsListener, password_line, render_acl


def _connect_rc(broker, username, password):
    done, rc = threading.Event(), []
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username is not None:
        c.username_pw_set(username, password)
    c.on_connect = lambda cl, u, f, r, p: (rc.append(r), done.set())
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        assert done.wait(5), "no CONNACK"
        return rc[0]
    finally:
        c.disconnect()
        c.loop_stop()


def test_node_connects_with_its_generated_password(broker):
    assert not _connect_rc(broker, "lobby", broker.accounts["lobby"].password).is_failure


def test_wrong_password_is_refused(broker):
    assert _connect_rc(broker, "lobby", "not-the-password").is_failure


def test_anonymous_client_is_refused(broker):
    assert _connect_rc(broker, None, None).is_failure


def test_password_file_holds_no_plaintext(broker):
    text = (broker.directory / "passwd").read_text()
    assert broker.accounts["lobby"].password not in text
    assert "lobby:$7$101$" in text


def test_password_line_is_deterministic_for_a_given_salt():
    assert password_line("a", "pw", salt=b"0" * 12) == password_line("a", "pw", salt=b"0" * 12)


def test_acl_grants_nodes_by_username_never_client_id():
    acl = render_acl("s1")
    assert "%u" in acl and "%c" not in acl
    assert "pattern read lobbygate/v1/s1/%u/cmd/#" in acl
    assert "pattern write lobbygate/v1/s1/%u/event/#" in acl


def test_acl_with_a_node_list_grants_rights_only_to_those_nodes():
    acl = render_acl("s1", nodes=["lobby"])
    assert "pattern" not in acl
    assert "user lobby\ntopic write lobbygate/v1/s1/lobby/status\n" in acl
    assert "topic read lobbygate/v1/s1/lobby/cmd/#" in acl
    assert [line for line in acl.splitlines() if line.startswith("user ")] == ["user console", "user lobby"]


def test_identity_and_crl_options_need_require_certificate(tmp_path):
    listener = TlsListener(cafile=tmp_path / "ca", certfile=tmp_path / "c", keyfile=tmp_path / "k",
                           use_identity_as_username=True, crlfile=tmp_path / "crl.pem")
    with pytest.raises(BrokerError, match="require_certificate"):
        listener.lines()
