"""The relay receiver shown in docs/deployment.md runs, as written, against real deliveries."""

from __future__ import annotations

import base64
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from backend import clock
from backend.notifications.delivery import deliver_due
from tests.conftest import build_app
from tests.helpers import make_partner, pair

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
SECRET = "whsec_" + base64.b64encode(b"32 bytes of a relay's own secret").decode()


def relay_example() -> str:
    """The guide's Python relay (its one block that verifies with `standardwebhooks`)."""
    [block] = [
        code
        for code in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
        if "standardwebhooks" in code
    ]
    return block


@pytest.fixture
def running_relay(monkeypatch):
    """The guide's relay, run in this process on a free port; yields (url, what it handed on)."""
    monkeypatch.setenv("TRUSTLINE_PUSH_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RELAY_PORT", "0")
    handed_on: list[tuple] = []
    namespace = {"send_to_devices": lambda *push: handed_on.append(push)}
    code = compile(relay_example(), str(GUIDE), "exec")
    thread = threading.Thread(target=exec, args=(code, namespace), daemon=True)
    thread.start()
    for _ in range(500):  # the block binds its server as it starts
        if "server" in namespace:
            break
        thread.join(0.01)
    server = namespace["server"]
    yield f"http://127.0.0.1:{server.server_address[1]}/push", handed_on
    server.shutdown()
    server.server_close()


def test_the_guides_relay_accepts_a_delivery_once_and_refuses_a_forgery(app, running_relay):
    url, handed_on = running_relay
    pushing = build_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_PUSH_WEBHOOK_URL=url,
        TRUSTLINE_PUSH_WEBHOOK_SECRET=SECRET,
    )
    with pushing.app_context():
        alice = make_partner(pushing, "alice@example.com", "Alice")
        alice.post("/me/devices", json={"platform": "ios", "token": "alice-phone-token"})
        pair(alice, make_partner(pushing, "bob@example.com", "Bob"))
        assert deliver_due().delivered == 1  # the relay verified it and answered 204
    [(devices, title, _body)] = handed_on
    assert devices == [{"platform": "ios", "token": "alice-phone-token"}]
    assert title == "Trustline"
    forged = urllib.request.Request(  # noqa: S310 - the local relay
        url,
        data=b'{"id":"x","devices":[],"title":"t","body":"b"}',
        method="POST",
        headers={
            "webhook-id": "x",
            "webhook-timestamp": str(int(clock.now().timestamp())),  # fresh, but not signed
            "webhook-signature": "v1," + base64.b64encode(b"\0" * 32).decode(),
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)  # noqa: S310
    assert refused.value.code == 401
    assert len(handed_on) == 1
