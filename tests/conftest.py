"""Root fixtures: each feature's fixtures live in tests/fixtures/<name>.py and are loaded here."""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.database",
    "tests.fixtures.members",
]
