"""Generate my_dev_portal/api_models.py, the portal's copy of the API's response models, from its OpenAPI.

    uv run python scripts/generate_api_models.py           # rewrite the module
    uv run python scripts/generate_api_models.py --check   # exit 1 when the committed module is stale

Only this script (and the test that runs it) imports portal_api; the portal reads the generated module.
The document is taken from `create_app(...).openapi()`, which needs no database or network. Before
generating, the script keeps the components reachable from 2xx responses (what the portal reads), gives
FastAPI's module-qualified names (`portal_api__checkout__schemas__CustomerOut`) short ones
(`CheckoutCustomerOut`), and drops property titles; the output is formatted with the repository's ruff.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "my-dev-portal" / "my_dev_portal" / "api_models.py"
COMMAND = "uv run python scripts/generate_api_models.py"
# The API's descriptions are copied as they are, however long.
HEADER = f'''"""The API's response models, generated from its OpenAPI: do not edit, run `{COMMAND}`."""
# ruff: noqa: E501
'''
# Python cannot name a field `pass`; the Meter Test's verdict is `passed` here (still "pass" on the wire).
FIELD_ALIASES = {"pass": "passed"}
_QUALIFIED = re.compile(r"^portal_api__(?:(\w+?)__)*schemas__(\w+)$")


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, built from settings that need no environment, database or network."""
    from portal_api.config import Settings
    from portal_api.main import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            database_url=f"sqlite+aiosqlite:///{tmp}/openapi.db",
            secret_key="openapi-generation-only-" + "x" * 32,
            run_migrations_on_start=False,
            run_jobs_in_process=False,
            metrics_enabled=False,
            rate_limit_enabled=False,
            log_json=False,
            log_level="WARNING",
        )
        return create_app(settings).openapi()


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def response_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The components that some 2xx response is made of, transitively."""
    components = document.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    wanted |= _refs(response.get("content", {}))
    pending = list(wanted)
    while pending:
        for name in _refs(components[pending.pop()]) - wanted:
            wanted.add(name)
            pending.append(name)
    return {name: components[name] for name in sorted(wanted)}


def short_name(name: str) -> str:
    """`portal_api__reporting__schemas__CustomerOut` -> `ReportingCustomerOut`; other names unchanged."""
    match = _QUALIFIED.match(name)
    if match is None:
        return name
    feature = name.removeprefix("portal_api__").split("__schemas__")[0].split("__")[-1]
    return "".join(part.capitalize() for part in feature.split("_")) + match.group(2)


def _rename(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        renamed = {key: _rename(value, names) for key, value in node.items()}
        ref = renamed.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            renamed["$ref"] = "#/components/schemas/" + names[ref.rsplit("/", 1)[-1]]
        return renamed
    if isinstance(node, list):
        return [_rename(item, names) for item in node]
    return node


def _untitled(schema: dict[str, Any]) -> dict[str, Any]:
    properties = {
        field: {key: value for key, value in prop.items() if key != "title"}
        for field, prop in schema.get("properties", {}).items()
    }
    return {**schema, "properties": properties} if properties else schema


def models_document(document: dict[str, Any]) -> dict[str, Any]:
    """A document of only the response components, renamed and without property titles."""
    schemas = response_schemas(document)
    names = {name: short_name(name) for name in schemas}
    if len(set(names.values())) != len(names):
        raise SystemExit(f"Two API schemas shorten to one name: {sorted(names.values())}")
    renamed = {names[name]: _untitled(_rename(schema, names)) for name, schema in schemas.items()}
    return {
        "openapi": document.get("openapi", "3.1.0"),
        "info": document.get("info", {"title": "API", "version": "0"}),
        "paths": {},
        "components": {"schemas": dict(sorted(renamed.items()))},
    }


def _ruff(*args: str, source: str) -> str:
    command = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"]
    done = subprocess.run(command, input=source, capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"ruff {' '.join(args)} failed on the generated module:\n{done.stderr}{done.stdout}")
    return done.stdout


def render(document: dict[str, Any] | None = None) -> str:
    """The text of api_models.py for `document` (default: the API's own)."""
    from datamodel_code_generator import (
        DataModelType,
        DatetimeClassType,
        Formatter,
        InputFileType,
        LiteralType,
        PythonVersion,
        generate,
    )

    code = generate(
        json.dumps(models_document(document or openapi_document())),
        input_file_type=InputFileType.OpenAPI,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_311,
        use_union_operator=True,
        use_standard_collections=True,
        enum_field_as_literal=LiteralType.All,
        collapse_root_models=True,
        field_constraints=True,
        extra_fields="ignore",
        use_schema_description=True,
        use_double_quotes=True,
        disable_timestamp=True,
        # Lenient on input like the rest of the client: the API sends offsets, tests may not.
        output_datetime_class=DatetimeClassType.Datetime,
        aliases=FIELD_ALIASES,
        # The repository's ruff formats it below; the generator's own formatter would only be undone.
        formatters=[Formatter.BUILTIN],
        custom_file_header=HEADER,
    )
    assert isinstance(code, str)
    code = _ruff("check", "--fix", "--quiet", "--exit-zero", source=code)
    # The generator wraps lines by the pyproject.toml it finds from the working directory; ignoring its
    # trailing commas makes the result the same from anywhere.
    return _ruff("format", "--quiet", "--config", "format.skip-magic-trailing-comma = true", source=code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed module is stale")
    args = parser.parse_args(argv)
    fresh = render()
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if fresh == current:
            return 0
        diff = difflib.unified_diff(current.splitlines(), fresh.splitlines(), "committed", "generated")
        print("\n".join(line.rstrip("\n") for line in diff))
        print(f"{TARGET.relative_to(ROOT)} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1
    TARGET.write_text(fresh)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
