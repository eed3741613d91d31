"""A login's device, in a few readable words ("Safari on iPhone"), for its owner's sessions list.

A client may describe itself (`client_label` at login: "Trustline app on Android"); otherwise
the User-Agent header is parsed by ua-parser (the maintained port of the uap-core rules; see
docs/architecture.md). Only the description is kept: never the raw header, never an address.
"""

from __future__ import annotations

import functools

import ua_parser

UNKNOWN = "Unknown device"
MAX_DESCRIPTION = 80
# A User-Agent longer than this is cut before parsing: real ones are a few hundred characters,
# and the parser's cost grows with what it is given.
MAX_USER_AGENT = 512
# How a browser or an OS is named to a person: no "Mobile", no versions.
BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "an app",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "an app",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet",
}
OS_NAMES = {
    "Mac OS X": "Mac",
    "iOS": "iPhone",
    "Chrome OS": "Chromebook",
    "Windows": "Windows",
    "Android": "Android",
    "Linux": "Linux",
    "Ubuntu": "Linux",
    "Fedora": "Linux",
}
GENERIC_DEVICES = {"Other", "Generic Smartphone", "Generic Tablet", "Mac", "Spider", "K"}


def describe_client(*, label: str | None, user_agent: str | None) -> str:
    """The client's own label if it gave one, else a description parsed from its User-Agent."""
    if label and label.strip():
        return label.strip()[:MAX_DESCRIPTION]
    if not user_agent or not user_agent.strip():
        return UNKNOWN
    return _from_user_agent(user_agent.strip()[:MAX_USER_AGENT])[:MAX_DESCRIPTION]


@functools.lru_cache(maxsize=256)
def _from_user_agent(user_agent: str) -> str:
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else None
    if browser == "Other":
        browser = None
    browser = BROWSER_NAMES.get(browser or "", browser)
    platform = _platform(parsed)
    if browser and platform and not platform.startswith(browser):
        return f"{browser} on {platform}"
    return platform or browser or UNKNOWN


def _platform(parsed: ua_parser.Result) -> str | None:
    """ "iPhone", "iPad", "Android (Pixel 8)", "Windows": the kind of device, in plain words."""
    os_family = parsed.os.family if parsed.os else None
    device = parsed.device.family if parsed.device else None
    if device in ("iPhone", "iPad", "iPod"):
        return device
    platform = OS_NAMES.get(os_family or "", os_family if os_family != "Other" else None)
    if platform == "Android" and device and device not in GENERIC_DEVICES:
        return f"Android ({device})"
    return platform
