"""Campaign and contact API (placeholder until the campaigns service lands)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["campaigns"])
