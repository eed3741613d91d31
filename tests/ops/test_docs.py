"""The spec is served, and the docs page loads nothing from the network."""

from __future__ import annotations

import re


def test_openapi_json_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["info"]["title"] == "Trustline API"


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "swagger-ui" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", page):
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.get_data()) > 100


def test_docs_script_points_at_the_local_spec(client):
    script = client.get("/api/docs/assets/trustline-docs.js").get_data(as_text=True)
    assert '"/api/v1/openapi.json"' in script
