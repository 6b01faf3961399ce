"""The ``stripe-emulator`` console script; every flag can also come from a STRIPE_EMULATOR_* variable."""

import argparse
import os
from collections.abc import Sequence

import uvicorn

from stripe_emulator.app import create_app
from stripe_emulator.seed import SEED_MODES
from stripe_emulator.versions import DEFAULT_VERSION


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"STRIPE_EMULATOR_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stripe-emulator", description="Stateful local Stripe API emulator")
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="env STRIPE_EMULATOR_HOST")
    parser.add_argument("--port", type=int, default=int(_env("PORT", "12111") or 12111), help="env ..._PORT")
    parser.add_argument("--state-file", default=_env("STATE_FILE"), help="JSON snapshot loaded on start")
    parser.add_argument("--seed", choices=("demo", "none"), default=_env("SEED", "none"))
    parser.add_argument("--seed-mode", choices=SEED_MODES, default=_env("SEED_MODE", "classic"))
    parser.add_argument("--webhook-url", default=_env("WEBHOOK_URL"), help="POST every event here")
    parser.add_argument(
        "--webhook-secret",
        default=_env("WEBHOOK_SECRET"),
        help="whsec_... signing secret; prefer env STRIPE_EMULATOR_WEBHOOK_SECRET: arguments show in `ps`",
    )
    parser.add_argument(
        "--api-version", default=_env("API_VERSION", DEFAULT_VERSION), help="account default API version"
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    app = create_app(
        state_file=args.state_file,
        seed=None if args.seed == "none" else args.seed,
        seed_mode=args.seed_mode,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        api_version=args.api_version,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
