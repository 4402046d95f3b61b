"""Statements sent by a real xAPI client we did not write: the ``tincan`` package's RemoteLRS
(Rustici's TinCanPython 1.0.0, works on Python 3.11), over HTTP to a live EduAI server."""

from __future__ import annotations

import uuid

import pytest

tincan = pytest.importorskip("tincan")

from tincan import (  # noqa: E402
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)

from eduai.courses.models import ActivityEvent  # noqa: E402
from eduai.xapi.services import lrs_client_create  # noqa: E402
from tests.factories import PracticeItemFactory  # noqa: E402


@pytest.fixture
def remote(transactional_db, live_server, world):
    world.student.email = "stu@example.org"
    world.student.external_id = "moodle-12"
    world.student.save()
    client, secret = lrs_client_create(name="tincan", school_id=world.school.pk)
    return RemoteLRS(endpoint=live_server.url + "/xapi/", username=client.key, password=secret, version="1.0.3")


def _statement(world, item, **kwargs) -> Statement:
    return Statement(
        actor=kwargs.pop("actor", Agent(name="Stu", mbox="mailto:stu@example.org")),
        verb=Verb(id="http://adlnet.gov/expapi/verbs/answered", display=LanguageMap({"en-US": "answered"})),
        object=Activity(
            id=f"urn:eduai:practice-item:{item.pk}",
            definition=ActivityDefinition(name=LanguageMap({"en-US": "Fractions 1"})),
        ),
        result=Result(score=Score(scaled=0.5, raw=5, min=0, max=10), success=False, completion=True),
        context=Context(
            contextActivities=ContextActivities(parent=[Activity(id=f"urn:eduai:course:{world.course.pk}")])
        ),
        **kwargs,
    )


def test_tincan_remote_lrs_statements_become_activity_events(remote, world):
    item = PracticeItemFactory(course=world.course)

    about = remote.about()
    assert about.success and "1.0.3" in about.content.version

    # a single statement (tincan PUTs it under its own id) ...
    sid = str(uuid.uuid4())
    saved = remote.save_statement(_statement(world, item, id=sid))
    assert saved.success, saved.data
    # ... and a batch (POST), one actor identified by an LMS account
    batch = remote.save_statements(
        [
            _statement(world, item),
            _statement(
                world, item, actor=Agent(account=AgentAccount(home_page="https://moodle.example", name="moodle-12"))
            ),
        ]
    )
    assert batch.success, batch.data

    events = ActivityEvent.objects.filter(course=world.course, actor=world.student, practice_item=item)
    assert events.count() == 3
    event = events.get(statement_id=sid)
    assert event.result_score_scaled == 0.5 and event.result_success is False and event.result_completion is True

    fetched = remote.retrieve_statement(sid)
    assert fetched.success and str(fetched.content.id) == sid
    assert fetched.content.verb.id == "http://adlnet.gov/expapi/verbs/answered"

    # a duplicate id is not stored twice
    assert remote.save_statement(_statement(world, item, id=sid)).success
    assert events.count() == 3

    # voiding: the event stays for audit but is marked voided (evidence readers skip it)
    voiding = Statement(
        actor=Agent(name="Moodle", mbox="mailto:admin@example.org"),
        verb=Verb(id="http://adlnet.gov/expapi/verbs/voided"),
        object=StatementRef(id=sid),
    )
    assert remote.save_statement(voiding).success
    assert ActivityEvent.objects.get(statement_id=sid).voided is True
    assert not remote.retrieve_statement(sid).success
    assert remote.retrieve_voided_statement(sid).success

    # an invalid statement gets a 400 with the reason
    bad = remote.save_statement(
        {"actor": {"name": "nobody"}, "verb": {"id": "http://x.example/v"}, "object": {"id": "urn:x:1"}}
    )
    assert not bad.success and bad.response.status == 400
    assert "exactly one identifier" in bad.data

    # wrong credentials are refused
    intruder = RemoteLRS(endpoint=remote.endpoint, username="nobody", password="x", version="1.0.3")
    assert intruder.save_statement(_statement(world, item)).response.status == 401
