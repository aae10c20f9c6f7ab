"""``/favicon.ico`` answers (it was a 404 in every browser's console) without a sign-in."""

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_portals_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
