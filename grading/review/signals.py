"""Receiver of grading's ``proposal_ready`` (connected in ``ReviewConfig.ready()``).

grading sends it after the commit that stored a proposal and moved the submission to
``scored``; here we only enqueue ``tasks.process_proposal`` (audit event + release policy), after
our own commit when one is open. With in-process tasks (no broker) that runs right away, so an
auto-released grade reaches the student in the same request that scored the essay.
"""

from __future__ import annotations

from typing import Any


def on_proposal_ready(sender: Any, prediction_id: int | None = None, raw: bool = False, **kwargs: Any) -> None:
    if raw or prediction_id is None:
        return
    from .tasks import process_proposal

    process_proposal.delay_on_commit(int(prediction_id))
