"""Frozen data of the xAPI endpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientScope:
    """What an authenticated LRS client may touch: its school, or one course of it."""

    client_id: int
    key: str
    school_id: int
    course_id: int | None
