"""`python -m callsim.twilio --port 8890 --auth-token T`: run the Twilio emulator."""

from __future__ import annotations

import argparse
import os

import uvicorn

from callsim.twilio.app import create_app
from callsim.twilio.state import EmulatorOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m callsim.twilio", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8890)
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("TWILIO_AUTH_TOKEN"),
        help="the token requests and signatures use (default: $TWILIO_AUTH_TOKEN)",
    )
    parser.add_argument("--account-sid", default=None, help="accept only this account SID")
    parser.add_argument("--step-delay", type=float, default=0.05, help="real seconds per stage")
    parser.add_argument("--retry-webhooks", action="store_true", help="send voice webhooks twice")
    parser.add_argument("--duplicate-callbacks", action="store_true")
    parser.add_argument("--shuffle-callbacks", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--inbound-url", default=None, help="the number's Voice URL")
    parser.add_argument(
        "--inbound-status-url", default=None, help="the number's call status changes URL"
    )
    args = parser.parse_args(argv)
    if not args.auth_token:
        parser.error("--auth-token (or TWILIO_AUTH_TOKEN) is required")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    options = EmulatorOptions(
        step_delay=args.step_delay,
        retry_webhooks=args.retry_webhooks,
        duplicate_callbacks=args.duplicate_callbacks,
        shuffle_callbacks=args.shuffle_callbacks,
        seed=args.seed,
        inbound_url=args.inbound_url,
        inbound_status_url=args.inbound_status_url,
    )
    app = create_app(args.auth_token, args.account_sid, options)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
