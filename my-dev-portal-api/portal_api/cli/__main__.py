"""`python -m portal_api.cli ...`: the same as the `portal-api` command."""

from portal_api.cli import main

main()
