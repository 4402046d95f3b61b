"""Ask the course: answers with the highlighted sentence, 'not found', bad input, Chinese,
logging as activity, the teacher's list, and who may see which question."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from eduai.courses.models import ActivityEvent
from recommender import api, services
from recommender.models import Passage, Question, QuestionStatus, ResourceIndex
from tests import factories as f


def test_answer_quotes_the_passage_and_highlights_the_sentence(world, maths):
    answer = api.ask_course(
        user=world.student, course_id=maths.course.pk, text="How do I add fractions with unlike denominators?"
    )
    assert answer.found is True
    best = answer.hits[0]
    assert best.resource_id == maths.r_fractions.pk
    assert best.highlighted == "To add fractions with unlike denominators, first find a common denominator."
    assert best.before + best.highlighted + best.after == best.text
    # the course was indexed lazily, once
    assert ResourceIndex.objects.filter(course=maths.course).count() == 4
    assert Passage.objects.filter(course=maths.course).count() >= 4


def test_names_and_formulas_are_matched_lexically(world, maths):
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text="what does 3:2 mean in a ratio")
    assert answer.found and answer.hits[0].resource_id == maths.r_ratios.pk
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text="Cornell notes")
    assert answer.found and answer.hits[0].resource_id == maths.r_general.pk


def test_unanswerable_question_says_not_found_and_can_go_to_the_teacher(world, maths):
    answer = api.ask_course(
        user=world.student, course_id=maths.course.pk, text="Who won the football world cup in 1966?"
    )
    assert answer.found is False
    assert answer.status == QuestionStatus.NOT_FOUND
    question = Question.objects.get(pk=answer.question_id)
    assert question.status == QuestionStatus.NOT_FOUND and question.answer == []
    # when the student sends it to the teacher, the teacher sees it in the list
    api.question_send_to_teacher(user=world.student, course_id=maths.course.pk, question_id=question.pk)
    listed = list(api.course_questions(user=world.teacher, course_id=maths.course.pk, status=QuestionStatus.SENT))
    assert [q.pk for q in listed] == [question.pk]
    # and can resolve it with a reply the student then sees
    api.question_resolve(user=world.teacher, course_id=maths.course.pk, question_id=question.pk, reply="England.")
    mine = list(api.student_questions(user=world.student, course_id=maths.course.pk))
    assert mine[0].status == QuestionStatus.RESOLVED and mine[0].teacher_reply == "England."


def test_questions_and_answers_are_logged_as_activity(world, maths):
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text="What does per cent mean?")
    event = ActivityEvent.objects.get(object_type="question")
    assert event.actor_id == world.student.pk and event.course_id == maths.course.pk
    assert event.result_response == "What does per cent mean?"
    assert event.result_success is answer.found is True
    assert event.raw["question_id"] == answer.question_id
    assert event.raw["resources"][0] == maths.r_percentages.pk
    assert event.raw["answer"] == answer.hits[0].highlighted


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Text is empty."),
        ("   \n\t ", "Text is empty."),
        ("x" * 1001, "maximum is 1000"),
        (42, "Expected a string."),
        (["what", "is"], "Expected a string."),
        (None, "Expected a string."),
        ("?!? ...", "Type your question in words."),
    ],
)
def test_bad_questions_are_refused_with_a_clear_message_and_nothing_is_stored(world, maths, text, message):
    with pytest.raises(ValidationError) as err:
        api.ask_course(user=world.student, course_id=maths.course.pk, text=text)
    assert message in " ".join(err.value.messages)
    assert not Question.objects.exists()
    assert not ActivityEvent.objects.filter(object_type="question").exists()


def test_a_course_with_no_resources_answers_not_found(world):
    answer = api.ask_course(user=world.student, course_id=world.course.pk, text="What is a fraction?")
    assert answer.found is False and answer.hits == ()


def test_hidden_and_inactive_resources_are_never_quoted(world, maths):
    question = "How do I add fractions with unlike denominators?"
    assert api.ask_course(user=world.student, course_id=maths.course.pk, text=question).hits[0].resource_id == (
        maths.r_fractions.pk
    )
    api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_fractions.pk, action="hide")
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text=question)
    assert maths.r_fractions.pk not in {h.resource_id for h in answer.hits}
    api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_fractions.pk, action="")
    maths.r_fractions.is_active = False
    maths.r_fractions.save()
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text=question)
    assert maths.r_fractions.pk not in {h.resource_id for h in answer.hits}


def test_an_edited_resource_is_reindexed(world, maths):
    api.ask_course(user=world.student, course_id=maths.course.pk, text="Cornell notes")
    maths.r_general.body = "Mind maps put the main idea in the middle and branch out."
    maths.r_general.save()
    assert ResourceIndex.objects.get(resource=maths.r_general).content_hash == ""
    answer = api.ask_course(user=world.student, course_id=maths.course.pk, text="How do mind maps work?")
    assert answer.found and answer.hits[0].resource_id == maths.r_general.pk
    assert "Cornell" not in answer.hits[0].text


def test_chinese_questions_use_jieba_and_character_ngrams(world):
    course = world.course
    course.language = "zh"
    course.save()
    pyth = f.LearningResourceFactory(
        course=course,
        title="勾股定理",
        body="勾股定理说明直角三角形两条直角边的平方和等于斜边的平方。它在测量中很有用。",
        language="zh",
    )
    f.LearningResourceFactory(
        course=course, title="分数", body="分数表示整体的一部分。分母不同的分数相加时，要先通分。", language="zh"
    )
    answer = api.ask_course(user=world.student, course_id=course.pk, text="直角三角形的斜边怎么算？")
    assert answer.language == "zh"
    assert answer.found and answer.hits[0].resource_id == pyth.pk
    assert answer.hits[0].highlighted.startswith("勾股定理说明")
    not_found = api.ask_course(user=world.student, course_id=course.pk, text="明天天气怎么样？")
    assert not_found.found is False


def test_a_student_never_sees_another_students_questions(world, maths, classmate):
    mine = api.ask_course(user=world.student, course_id=maths.course.pk, text="What is a ratio?")
    theirs = api.ask_course(user=classmate, course_id=maths.course.pk, text="What is a percentage?")
    assert [q.pk for q in api.student_questions(user=world.student, course_id=maths.course.pk)] == [mine.question_id]
    assert [q.pk for q in api.student_questions(user=classmate, course_id=maths.course.pk)] == [theirs.question_id]
    # nor send another student's question, nor read the staff list
    with pytest.raises(Http404):
        api.question_send_to_teacher(user=world.student, course_id=maths.course.pk, question_id=theirs.question_id)
    with pytest.raises(PermissionDenied):
        api.course_questions(user=world.student, course_id=maths.course.pk)
    # another course's teacher sees nothing of this course
    with pytest.raises(Http404):
        api.course_questions(user=world.other_teacher, course_id=maths.course.pk)
    # a teacher cannot resolve a question through a course it does not belong to
    with pytest.raises(Http404):
        api.question_resolve(user=world.other_teacher, course_id=world.other_course.pk, question_id=mine.question_id)


def test_staff_may_not_ask_as_students(world, maths):
    with pytest.raises(PermissionDenied):
        api.ask_course(user=world.teacher, course_id=maths.course.pk, text="What is a ratio?")


def test_passages_are_whole_sentences_of_bounded_size(world):
    body = " ".join(f"Sentence number {n} talks about topic {n % 7} in some detail." for n in range(60))
    resource = f.LearningResourceFactory(course=world.course, body=body)
    services.course_index(course_id=world.course.pk)
    texts = list(Passage.objects.filter(resource=resource).order_by("position").values_list("text", flat=True))
    assert len(texts) > 3
    assert all(t.endswith(".") and t[0].isupper() for t in texts)
    assert all(len(t.split()) <= 90 for t in texts)
    assert " ".join(texts) == body


@pytest.mark.slow
def test_with_the_real_encoder_a_paraphrase_finds_the_passage(world, maths, real_encoder):
    # given the bundled MiniLM (int8 on CPU): a question sharing almost no words with the answer
    answer = api.ask_course(
        user=world.student,
        course_id=maths.course.pk,
        text="What is the first step to sum fractions whose bottom numbers differ?",
    )
    # then the semantic half finds the fractions passage and highlights its first sentence
    assert answer.found is True
    assert answer.hits[0].resource_id == maths.r_fractions.pk
    assert answer.hits[0].semantic > 0
    assert "common denominator" in answer.hits[0].highlighted
    stored = Passage.objects.filter(resource=maths.r_fractions).first()
    assert len(bytes(stored.vector)) == 384 * 4
    assert len(bytes(stored.sentence_vectors)) % (384 * 4) == 0
    # and a question from another subject is still "not found"
    assert (
        api.ask_course(user=world.student, course_id=maths.course.pk, text="Who painted the Mona Lisa?").found is False
    )
