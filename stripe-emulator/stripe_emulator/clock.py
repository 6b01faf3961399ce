"""Virtual clock: wall time plus an offset that /_emulator/clock/advance moves forward."""

import time


class Clock:
    """Unix seconds as the emulated Stripe account sees them."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    def now(self) -> int:
        return int(time.time()) + self.offset

    def advance(self, seconds: int) -> int:
        self.offset += int(seconds)
        return self.now()

    def reset(self) -> None:
        self.offset = 0
