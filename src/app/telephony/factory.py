"""Build the configured provider."""

from __future__ import annotations

import logging

from app.config import Settings
from app.telephony.base import TelephonyProvider
from app.telephony.mock import MockProvider

log = logging.getLogger(__name__)


def create_provider(settings: Settings) -> TelephonyProvider:
    log.info("Creating telephony provider: %s", settings.telephony_provider)
    if settings.telephony_provider == "mock":
        return MockProvider.from_settings(settings)
    # Imported here so that the mock never loads the twilio library.
    from app.telephony.twilio import TwilioProvider

    return TwilioProvider.from_settings(settings)
