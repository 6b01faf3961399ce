"""Stripe API versions: the default, the basil cut-over, and comparison by date."""

DEFAULT_VERSION = "2020-08-27"
BASIL = "2025-03-31.basil"


def version_date(version: str) -> str:
    """The ``YYYY-MM-DD`` part that orders versions (``2025-03-31.basil`` -> ``2025-03-31``)."""
    return version[:10]


def is_basil_or_later(version: str) -> bool:
    return version_date(version) >= version_date(BASIL)
