"""Crash points for fault-injection tests: the process kills itself where it is told to.

Set VOICESURVEY_CRASH_AT to one point's name to SIGKILL the process there; unset, this is a
no-op. It lets the acceptance tests prove recovery at each window between the database commit
and the provider call, with a real killed process rather than a simulated one.
"""

from __future__ import annotations

import os
import signal

AFTER_CLAIM_COMMIT = "after_claim_commit"  # attempt committed, provider not yet called
AFTER_INITIATE = "after_initiate"  # provider called, its call id not yet saved


def crash_point(name: str) -> None:
    """Die here, like a SIGKILL from outside, when VOICESURVEY_CRASH_AT names this point."""
    if os.environ.get("VOICESURVEY_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
