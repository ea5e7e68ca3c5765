"""The go-live checklist's gates that can be checked from outside, each a small probe.

Every gate returns a GateResult: PASS, FAIL or SKIP, why, and the query or probe behind it, so
an operator can rerun it by hand. Secrets are never part of a result.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.campaigns.models import ContactState
from app.config import Settings, SettingsError
from app.db.base import sql_literal
from app.db.migrate import current_revision, head_revision
from app.scheduler.leader import LEADER_LOCK_KEY


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class GateResult:
    gate: str
    title: str
    verdict: Verdict
    detail: str
    probe: str


@dataclass(frozen=True)
class CheckContext:
    settings: Settings
    engine: AsyncEngine
    service_url: str | None
    source_root: Path | None


Gate = Callable[[CheckContext], Awaitable[GateResult]]

MISMATCHES = """SELECT c.id, c.attempts_count, coalesce(max(a.attempt_number), 0) AS max_attempt
FROM contacts c LEFT JOIN call_attempts a ON a.contact_id = c.id
GROUP BY c.id HAVING c.attempts_count <> coalesce(max(a.attempt_number), 0)"""

DUPLICATES = """SELECT contact_id, attempt_number, COUNT(*) FROM call_attempts
GROUP BY contact_id, attempt_number HAVING COUNT(*) > 1"""

UNIQUE_CONSTRAINT = """SELECT conname FROM pg_constraint
WHERE conrelid = 'call_attempts'::regclass AND contype = 'u'
  AND pg_get_constraintdef(oid) = 'UNIQUE (contact_id, attempt_number)'"""

LEADER = """SELECT count(*) FILTER (WHERE l.pid IS NOT NULL) AS leaders,
       count(*) FILTER (WHERE l.pid IS NULL) AS standbys
FROM pg_stat_activity a
LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
     AND l.objid = (:key & 4294967295)::oid
WHERE a.datname = current_database() AND a.application_name LIKE 'voicesurvey-scheduler-%'"""

# Silent, and past the instant the call is provably over: recovery should have closed it.
OVERDUE = """SELECT count(*) FROM call_attempts
WHERE ended_at IS NULL AND last_event_at < now() - make_interval(secs => :stale)
  AND started_at + make_interval(secs => ring_timeout_seconds + time_limit_seconds + :margin)
      < now()"""

STUCK = f"""SELECT count(*) FROM contacts c
WHERE c.state = {sql_literal(ContactState.IN_PROGRESS)}
  AND NOT EXISTS (SELECT 1 FROM call_attempts a WHERE a.contact_id = c.id AND a.ended_at IS NULL)"""


async def environment(ctx: CheckContext) -> GateResult:
    """G0.2: database and telephony settings present; Redis is not needed."""
    s = ctx.settings
    notes = [f"DATABASE_URL {'set' if s.database_url else 'unset (embedded PostgreSQL)'}"]
    notes.append(f"TELEPHONY_PROVIDER={s.telephony_provider}")
    missing = []
    if s.telephony_provider == "twilio":
        names = {
            "TWILIO_ACCOUNT_SID": s.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": s.twilio_auth_token,
            "TWILIO_FROM_NUMBER": s.twilio_from_number,
        }
        missing = [name for name, value in names.items() if not value]
        notes.append("TWILIO_* " + ("missing: " + ", ".join(missing) if missing else "set"))
    verdict = Verdict.FAIL if missing else Verdict.PASS
    return GateResult(
        "G0.2", "environment", verdict, "; ".join(notes), "env | grep -E 'TWILIO|DATABASE'"
    )


async def source_tree(ctx: CheckContext) -> GateResult:
    """G0.1: no leftover incoming_* files; a clean git tree when this is a checkout."""
    probe = "git status --porcelain; find src -name 'incoming_*'"
    root = ctx.source_root
    if root is None or not (root / "src").is_dir():
        return GateResult(
            "G0.1", "code aligned", Verdict.SKIP, "not run from a source checkout", probe
        )
    leftovers = sorted(str(p.relative_to(root)) for p in (root / "src").rglob("incoming_*"))
    if leftovers:
        return GateResult(
            "G0.1", "code aligned", Verdict.FAIL, "leftover: " + ", ".join(leftovers), probe
        )
    status = _git_status(root)
    if status is None:
        return GateResult("G0.1", "code aligned", Verdict.SKIP, "not a git checkout", probe)
    if status:
        return GateResult(
            "G0.1", "code aligned", Verdict.FAIL, f"{len(status)} uncommitted change(s)", probe
        )
    return GateResult("G0.1", "code aligned", Verdict.PASS, "working tree clean", probe)


async def consistency(ctx: CheckContext) -> GateResult:
    """G1.1: attempts_count = max(attempt_number) everywhere; no duplicate attempt numbers."""
    async with ctx.engine.connect() as conn:
        mismatched = (await conn.execute(text(MISMATCHES))).all()
        duplicated = (await conn.execute(text(DUPLICATES))).all()
    if mismatched or duplicated:
        sample = ", ".join(f"contact {r[0]}: {r[1]} vs {r[2]}" for r in mismatched[:3])
        detail = f"{len(mismatched)} contact(s) with attempts_count ≠ max(attempt_number)"
        detail += f" ({sample})" if sample else ""
        detail += f"; {len(duplicated)} duplicate (contact_id, attempt_number)"
        return GateResult("G1.1", "database consistency", Verdict.FAIL, detail, MISMATCHES)
    return GateResult(
        "G1.1", "database consistency", Verdict.PASS, "counts match, no duplicates", MISMATCHES
    )


async def unique_constraint(ctx: CheckContext) -> GateResult:
    """G1.2: UNIQUE(contact_id, attempt_number) is present."""
    async with ctx.engine.connect() as conn:
        names = list((await conn.execute(text(UNIQUE_CONSTRAINT))).scalars())
    if not names:
        return GateResult(
            "G1.2",
            "critical constraint",
            Verdict.FAIL,
            "UNIQUE(contact_id, attempt_number) missing",
            r"\d call_attempts",
        )
    return GateResult(
        "G1.2", "critical constraint", Verdict.PASS, f"present ({names[0]})", r"\d call_attempts"
    )


async def migrations(ctx: CheckContext) -> GateResult:
    """The schema is at the latest migration."""
    current, head = await current_revision(ctx.engine), head_revision()
    verdict = Verdict.PASS if current == head else Verdict.FAIL
    return GateResult(
        "G1.3",
        "migrations",
        verdict,
        f"at {current}, head {head}",
        "SELECT version_num FROM alembic_version",
    )


async def scheduler(ctx: CheckContext) -> GateResult:
    """G2.1/G3.1: one scheduler holds the leader lock; the others stand by."""
    async with ctx.engine.connect() as conn:
        row = (await conn.execute(text(LEADER), {"key": LEADER_LOCK_KEY})).one()
    leaders, standbys = int(row.leaders), int(row.standbys)
    detail = f"{leaders} leader, {standbys} standby"
    if leaders + standbys == 0:
        return GateResult(
            "G3.1", "scheduler leader", Verdict.SKIP, "no service connected (app stopped?)", LEADER
        )
    verdict = Verdict.PASS if leaders == 1 else Verdict.FAIL
    return GateResult(
        "G3.1", "scheduler leader", verdict, detail, "pg_locks advisory lock + pg_stat_activity"
    )


async def events_webhook(ctx: CheckContext) -> GateResult:
    """G4.2: the status-callback endpoint answers an empty POST."""
    if ctx.service_url is None:
        return GateResult(
            "G4.2",
            "callback endpoint",
            Verdict.SKIP,
            "no --url given",
            "curl -X POST …/webhooks/telephony/events",
        )
    url = ctx.service_url.rstrip("/") + "/webhooks/telephony/events"
    try:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            code = (await client.post(url)).status_code
    except httpx.HTTPError as exc:
        return GateResult(
            "G4.2", "callback endpoint", Verdict.FAIL, f"unreachable: {exc}", f"curl -X POST {url}"
        )
    # 403 proves the endpoint and its guard: Twilio's signature check refuses an unsigned POST,
    # and the mock refuses a POST from another machine.
    detail = f"HTTP {code}" + (
        " (refused: unsigned, or not from this machine)" if code == 403 else ""
    )
    verdict = Verdict.PASS if code in (200, 204, 403) else Verdict.FAIL
    return GateResult("G4.2", "callback endpoint", verdict, detail, f"curl -X POST {url}")


async def twilio_config(ctx: CheckContext) -> GateResult:
    """G5.1: Twilio settings well-formed (and accepted by Twilio when it can be reached)."""
    s = ctx.settings
    probe = "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, PUBLIC_BASE_URL"
    if s.telephony_provider != "twilio":
        return GateResult(
            "G5.1", "Twilio config", Verdict.SKIP, "TELEPHONY_PROVIDER is not twilio", probe
        )
    problems = _twilio_problems(s)
    if problems:
        return GateResult("G5.1", "Twilio config", Verdict.FAIL, "; ".join(problems), probe)
    verdict, detail = await _twilio_online(s)
    return GateResult("G5.1", "Twilio config", verdict, detail, probe)


async def recovery(ctx: CheckContext) -> GateResult:
    """G8.1: no contact stuck in progress without a call, no silent call past its provable end."""
    s = ctx.settings
    bounds = {"stale": s.stale_attempt_seconds, "margin": s.recovery_margin_seconds}
    async with ctx.engine.connect() as conn:
        overdue = int((await conn.execute(text(OVERDUE), bounds)).scalar_one())
        stuck = int((await conn.execute(text(STUCK))).scalar_one())
    if overdue or stuck:
        detail = (
            f"{overdue} silent attempt(s) past the end of their call "
            "(started_at + ring timeout + time limit + RECOVERY_MARGIN_SECONDS), "
            f"{stuck} contact(s) in progress with no open call"
        )
        return GateResult("G8.1", "nothing stuck", Verdict.FAIL, detail, STUCK)
    return GateResult(
        "G8.1", "nothing stuck", Verdict.PASS, "no stale attempt, no stuck contact", STUCK
    )


GATES: tuple[Gate, ...] = (
    source_tree,
    environment,
    consistency,
    unique_constraint,
    migrations,
    scheduler,
    events_webhook,
    twilio_config,
    recovery,
)


def _twilio_problems(s: Settings) -> list[str]:
    from app.telephony.twilio import TwilioConfig

    problems = []
    if s.twilio_account_sid and not re.fullmatch(r"AC[0-9a-fA-F]{32}", s.twilio_account_sid):
        problems.append("TWILIO_ACCOUNT_SID is not AC followed by 32 hex digits")
    try:
        TwilioConfig.from_settings(s)
    except SettingsError as exc:
        problems.append(str(exc))
    return problems


async def _twilio_online(s: Settings) -> tuple[Verdict, str]:
    """Ask Twilio for the account: refused credentials fail; an unreachable API only notes it."""
    from twilio.base.exceptions import TwilioRestException

    from app.telephony.twilio import TwilioConfig, make_client

    client = make_client(TwilioConfig.from_settings(s))
    try:
        await asyncio.to_thread(client.api.v2010.accounts(s.twilio_account_sid).fetch)
    except TwilioRestException as exc:
        if exc.status in (401, 403):
            return Verdict.FAIL, f"Twilio refused the credentials (HTTP {exc.status})"
        return Verdict.PASS, f"well-formed; account lookup answered HTTP {exc.status}"
    except Exception as exc:
        return Verdict.PASS, f"well-formed; Twilio not reachable to verify ({type(exc).__name__})"
    return Verdict.PASS, "well-formed and accepted by Twilio"


def _git_status(root: Path) -> list[str] | None:
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [line for line in done.stdout.splitlines() if line.strip()]
