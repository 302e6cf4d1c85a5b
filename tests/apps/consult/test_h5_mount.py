"""The resident H5 is served at /h5/ with deep links falling back to its index.html (when built)."""

from __future__ import annotations

import httpx

from jizuo.api.app import WEB_DIR


async def test_h5_is_served_with_deep_links(client: httpx.AsyncClient) -> None:
    built = (WEB_DIR / "resident" / "index.html").is_file()
    for path in ("/h5/", "/h5/ask", "/h5/readings"):
        response = await client.get(path)
        if built:
            assert response.status_code == 200 and "居民健康" in response.text, path
            assert response.headers["cache-control"] == "no-cache"
        else:
            assert response.status_code == 503 and "前端尚未构建" in response.text
    if built:
        favicon = await client.get("/h5/favicon.svg")
        assert favicon.status_code == 200 and "svg" in favicon.headers["content-type"]
    escape = await client.get("/h5/..%2F..%2Fapi%2Fapp.py")
    assert "create_app" not in escape.text
