"""When a failed delivery is tried again: exponential backoff with jitter, within bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The first retry comes after `first_seconds`, each later one waits twice as long, up to
    `cap_seconds`. Jitter takes up to `jitter` of the wait off, so the retries of many rows that
    failed together (a receiver down) spread out instead of arriving again all at once."""

    first_seconds: float = 10.0
    cap_seconds: float = 3600.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.first_seconds <= self.cap_seconds:
            raise ValueError("need 0 < first_seconds <= cap_seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a share of the wait, from 0 to below 1")

    def delay(self, failures: int, draw: float) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1 for the first one);
        `draw` is a uniform random number in [0, 1). Always within [first, cap]."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        # min() before the power would overflow a float for a row failing for months.
        doublings = min(failures - 1, 64)
        nominal = min(self.cap_seconds, self.first_seconds * 2.0**doublings)
        return max(self.first_seconds, nominal * (1 - self.jitter * draw))
