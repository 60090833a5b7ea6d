"""Placeholder so the app imports; the engineer on branch `api` fills this router."""

from fastapi import APIRouter

router = APIRouter()
