"""Every table, imported in one place so that metadata is complete for Alembic and tests."""

from app.calls.models import CallAttempt, SurveyResponse, TelephonyEvent
from app.campaigns.models import Campaign, CampaignQuota, Contact, ContactEvent, DoNotCall
from app.db.base import Base
from app.deliveries.models import ResultDelivery

__all__ = [
    "Base",
    "CallAttempt",
    "Campaign",
    "CampaignQuota",
    "Contact",
    "ContactEvent",
    "DoNotCall",
    "ResultDelivery",
    "SurveyResponse",
    "TelephonyEvent",
]
