"""Portal settings, read from the environment and my-dev-portal/.env."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


class Settings(BaseSettings):
    """What the portal needs to know; the Stripe secret key is deliberately not among it."""

    model_config = SettingsConfigDict(env_file=_ENV_FILE, env_file_encoding="utf-8", extra="ignore")

    # Both set: /pricing embeds Stripe's pricing table instead of the portal's own plan table.
    STRIPE_PRICING_TABLE_ID: str = ""
    STRIPE_PUBLISHABLE_KEY: str = ""
    # The portal's Reflex backend talks to the API server-side; the browser never calls it.
    API_URL: str = "http://127.0.0.1:8000"
    PORTAL_URL: str = "http://localhost:3000"
    # Seconds the portal waits for the API.
    API_TIMEOUT: float = 15.0

    @property
    def uses_stripe_pricing_table(self) -> bool:
        return bool(self.STRIPE_PRICING_TABLE_ID and self.STRIPE_PUBLISHABLE_KEY)


@lru_cache
def get_settings() -> Settings:
    return Settings()
