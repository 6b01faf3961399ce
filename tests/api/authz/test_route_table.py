"""The authz table covers exactly the routes the app serves: a new route without a row fails here."""

from __future__ import annotations

from typing import Any

from tests.api.authz.objects import MAKERS
from tests.api.authz.route_table import ROUTES, Access, app_routes


def test_every_route_of_the_app_has_a_row_in_the_authz_table(app: Any) -> None:
    missing = sorted(app_routes(app) - ROUTES.keys())
    assert missing == [], f"add these routes to tests/api/authz/route_table.py ROUTES: {missing}"


def test_the_authz_table_names_no_route_the_app_does_not_serve(app: Any) -> None:
    stale = sorted(ROUTES.keys() - app_routes(app))
    assert stale == [], f"these ROUTES rows match no route any more: {stale}"


def test_every_route_with_a_path_id_names_an_object_kind_the_suite_can_make() -> None:
    with_id = {key for key in ROUTES if "{" in key[1]}
    unnamed = sorted(key for key in with_id if ROUTES[key].owns is None)
    assert unnamed == [], f"say which object these path ids name (Route.owns): {unnamed}"
    unknown = sorted(key for key in with_id if ROUTES[key].owns not in MAKERS)
    assert unknown == [], f"teach tests/api/authz/objects.py to make these objects: {unknown}"


def test_every_admin_path_is_admin_only() -> None:
    admin_paths = [key for key in ROUTES if key[1].startswith("/v1/admin/")]
    loose = sorted(key for key in admin_paths if ROUTES[key].access not in (Access.ADMIN, Access.ADMIN_USER))
    assert loose == []
