"""The portal's API models are the API's: api_models.py is what the generator makes of its OpenAPI."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_api_models.py"
REGENERATE = "uv run python scripts/generate_api_models.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_api_models", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def openapi(generator: ModuleType) -> dict[str, Any]:
    return generator.openapi_document()


def test_committed_models_match_the_apis_openapi(
    generator: ModuleType, openapi: dict[str, Any], tmp_path: Path
) -> None:
    fresh = tmp_path / "api_models.py"
    fresh.write_text(generator.render(openapi))
    committed = generator.TARGET.read_text()
    assert fresh.read_text() == committed, (
        f"my-dev-portal/my_dev_portal/api_models.py differs from the API's OpenAPI: run `{REGENERATE}` "
        "and fix what mypy then finds in the portal."
    )


def test_a_field_the_api_adds_reaches_the_generated_models(
    generator: ModuleType, openapi: dict[str, Any]
) -> None:
    """The comparison above can fail: a change to the API's schema changes the generated module."""
    changed = copy.deepcopy(openapi)
    token = changed["components"]["schemas"]["AdminTokenOut"]
    token["properties"]["rotated_from"] = {"type": "string"}
    token["required"].append("rotated_from")
    rendered = generator.render(changed)
    assert rendered != generator.TARGET.read_text()
    token_class = rendered.split("class AdminTokenOut(BaseModel):", 1)[1].split("\nclass ", 1)[0]
    assert "rotated_from: str" in token_class


def test_only_response_models_are_generated_with_short_names(openapi: dict[str, Any]) -> None:
    generator = _generator()
    names = set(generator.models_document(openapi)["components"]["schemas"])
    assert {"ReportingCustomerOut", "CheckoutCustomerOut", "MeterOut", "Plan"} <= names
    assert not {"LoginRequest", "MeterCreate"} & names  # request bodies: the portal sends dicts
    assert not any(name.startswith("portal_api__") for name in names)


def test_the_portal_never_imports_the_api_package() -> None:
    """Only the generator reads portal_api; the portal runs without it (its own image, its own deps)."""
    code = (
        "import sys, my_dev_portal.api_client, my_dev_portal.prices, my_dev_portal.state.admin_tokens, "
        "my_dev_portal.state.admin_customers, my_dev_portal.state.dashboard; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'portal_api'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
