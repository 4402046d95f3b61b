"""Public face of grading: other apps (and the review loop built on top) call these.

Writes: ``teacher_grade_set`` (a human grade of record; training data), ``teacher_grades_import``,
``grader_settings_set`` (the serving knob), ``training_enqueue`` (train now, as a task),
``model_train`` (train in this process: tasks and commands), ``model_activate`` (roll back or
forward), ``submissions_score`` (score in this process: tasks), ``assignment_score`` (score
all an assignment's waiting essays in this process: the ``score_grader`` command), ``embed_default``.
Reads: ``predictions_visible``, ``teacher_grades_visible``, ``models_for_assignment``,
``models_for_courses`` (the registry of many courses, as ``GradingModelData``),
``serving_model_for``, ``latest_prediction``, ``trait_scores_for_student``.
Signals: ``proposal_ready``, ``grade_released``.
"""

from .data import PredictionData, ScoreBatchResult, TrainResult
from .selectors import (
    GradingModelData,
    latest_prediction,
    models_for_assignment,
    models_for_courses,
    predictions_visible,
    serving_model_for,
    teacher_graded_count,
    teacher_grades_visible,
    trait_scores_for_student,
)
from .services import (
    GradeInput,
    grader_settings_set,
    teacher_grade_set,
    teacher_grades_import,
    training_enqueue,
    training_thresholds_check,
)
from .serving import assignment_score, embed_default, submissions_score
from .signals import grade_released, proposal_ready
from .training import model_activate, model_train

__all__ = [
    "GradeInput",
    "GradingModelData",
    "PredictionData",
    "ScoreBatchResult",
    "TrainResult",
    "assignment_score",
    "embed_default",
    "grade_released",
    "grader_settings_set",
    "latest_prediction",
    "model_activate",
    "model_train",
    "models_for_assignment",
    "models_for_courses",
    "predictions_visible",
    "proposal_ready",
    "serving_model_for",
    "submissions_score",
    "teacher_grade_set",
    "teacher_graded_count",
    "teacher_grades_import",
    "teacher_grades_visible",
    "training_enqueue",
    "training_thresholds_check",
    "trait_scores_for_student",
]
