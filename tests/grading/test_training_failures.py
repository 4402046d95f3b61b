"""A training run that fails keeps nothing: not an artefact moved into place before its record
could be saved, not the temporary folder of a worker that was killed (the sweep removes it, never
one a live run holds); a diverged fine-tune's NaN/inf figures are stored as null rather than failing
the run; and `train_grader` says what a Ctrl-C really left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError
from django.utils import timezone

import grading.api as grading
from eduai import inference
from grading import conf, training
from grading.models import GradingModel, ModelStatus
from grading.scoring.fast import FastScorer
from grading.tasks import sweep_stuck_submissions
from tests import factories as f


def _fake_train_into(hyperparameters=None):
    """A fit that writes an artefact and reports what a fine-tune with one validation essay does."""

    def fit(record, data, workdir, method, overrides, progress):
        workdir.mkdir(parents=True)
        (workdir / "weights.bin").write_bytes(b"x" * 1024)
        (workdir / training.TRAIN_IDS_FILE).write_text("[]")
        return {
            "hyperparameters": hyperparameters or {},
            "n_train": 4,
            "n_val": 1,
            "interval_coverage": 0.9,
            "val_qwk": float("nan"),
        }

    return fit


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def graded(world, make_graded):
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    make_graded(assignment, 5)
    return assignment


@pytest.mark.django_db
def test_non_finite_figures_of_a_diverged_fine_tune_are_stored_as_null(graded, monkeypatch, settings):
    hp = {"finetune_report": {"best_val_metric": float("-inf")}, "history": [{"val_metric": float("nan"), "epoch": 1}]}
    monkeypatch.setattr(training, "_train_into", _fake_train_into(hp))

    result = training.model_train(assignment_id=graded.pk, method="finetune", schedule_scoring=False)

    record = GradingModel.objects.get(pk=result.model_id)
    assert record.status == ModelStatus.READY and record.val_qwk is None
    assert record.hyperparameters == {
        "finetune_report": {"best_val_metric": None},
        "history": [{"val_metric": None, "epoch": 1}],
    }
    assert (Path(settings.EDUAI_MODEL_ROOT) / record.artefact / "weights.bin").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "failure, reason",
    [
        (DatabaseError("database or disk is full"), "the trained model could not be recorded, so it was not kept"),
        (KeyboardInterrupt(), "interrupted"),
    ],
)
def test_a_save_that_fails_after_the_rename_leaves_no_artefact(graded, monkeypatch, settings, failure, reason):
    monkeypatch.setattr(training, "_train_into", _fake_train_into())
    real_save = GradingModel.save

    def save(self, *args, **kwargs):
        if self.status == ModelStatus.READY:  # the save that follows os.replace(tmp, final)
            assert Path(settings.EDUAI_MODEL_ROOT, self.artefact, "weights.bin").exists()
            raise failure
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(GradingModel, "save", save)
    with pytest.raises(type(failure)):
        training.model_train(assignment_id=graded.pk, method="fast", schedule_scoring=False)

    record = GradingModel.objects.get(assignment=graded)
    assert record.status == ModelStatus.FAILED and record.failure_reason.startswith(reason)
    assert "Error" not in record.failure_reason.split("(")[0]  # a sentence first, the exception after
    assert _files(Path(settings.EDUAI_MODEL_ROOT)) == []


@pytest.mark.django_db
def test_the_sweep_removes_the_temp_folder_of_a_killed_run_but_not_a_live_ones(graded, settings):
    root = Path(settings.EDUAI_MODEL_ROOT) / ".tmp"
    old = timezone.now() - timedelta(days=2)
    killed, live, recent = (
        GradingModel.objects.create(assignment=graded, version=v, method="finetune") for v in (1, 2, 3)
    )
    GradingModel.objects.filter(pk__in=[killed.pk, live.pk]).update(created_at=old)

    def folder(record, suffix, lock):
        path = root / f"{training._tmp_prefix(graded.pk, record.version)}{suffix}"
        (path / "artefact").mkdir(parents=True)
        (path / "artefact" / "model.safetensors").write_bytes(b"w" * 4096)
        if lock:
            (path / training.LOCK_FILE).touch()
        return path

    killed_dirs = [folder(killed, "k1", lock=True), folder(killed, "k2", lock=False)]
    live_dir = folder(live, "l1", lock=True)  # a `train_grader` run past the task's time limit
    recent_dir = folder(recent, "r1", lock=False)  # just created, lock not taken yet
    lock = training._hold(live_dir)
    try:
        result = sweep_stuck_submissions()
    finally:
        training._release(lock)

    assert result["abandoned_training_runs"] == 2
    assert [d.exists() for d in killed_dirs] == [False, False]
    assert live_dir.exists() and recent_dir.exists()
    assert GradingModel.objects.get(pk=live.pk).status == ModelStatus.FAILED  # its record, as before
    assert GradingModel.objects.get(pk=recent.pk).status == ModelStatus.TRAINING
    # once the live run is gone (lock released), a later sweep removes its folder too
    sweep_stuck_submissions()
    assert not live_dir.exists() and recent_dir.exists()


@pytest.mark.django_db
def test_a_finished_run_removes_its_temp_folder_and_lock(graded, monkeypatch, settings):
    monkeypatch.setattr(training, "_train_into", _fake_train_into())
    training.model_train(assignment_id=graded.pk, method="fast", schedule_scoring=False)
    assert list((Path(settings.EDUAI_MODEL_ROOT) / ".tmp").iterdir()) == []


@pytest.mark.django_db
def test_ctrl_c_while_the_new_model_is_compared_says_it_was_kept(graded, monkeypatch, settings):
    monkeypatch.setattr(training, "_train_into", _fake_train_into())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_promote", interrupted)
    with pytest.raises(CommandError) as caught:
        call_command("train_grader", str(graded.pk))

    record = GradingModel.objects.get(assignment=graded)
    assert record.status == ModelStatus.READY and (Path(settings.EDUAI_MODEL_ROOT) / record.artefact).is_dir()
    message = str(caught.value)
    assert "v1 (fast) is ready" in message and record.artefact in message and "does not serve" in message
    assert "marked failed" not in message


@pytest.mark.django_db
def test_ctrl_c_during_training_says_the_run_failed(graded, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_train_into", interrupted)
    with pytest.raises(CommandError, match="interrupted: v1 is marked failed and no artefact was kept"):
        call_command("train_grader", str(graded.pk))
    assert GradingModel.objects.get(assignment=graded).status == ModelStatus.FAILED


def test_fast_training_shows_progress_while_it_embeds_the_training_essays(world, make_graded):
    # given an assignment whose graded essays have no stored embeddings yet
    assignment = f.AssignmentFactory(course=world.course)
    make_graded(assignment, conf.MIN_TRAINING_ESSAYS)
    # when a command trains it with progress on (train_grader, evaluate_grader)
    with mock.patch("grading.serving.inference.embed", wraps=inference.embed) as embed:
        grading.model_train(assignment_id=assignment.pk, method="fast", progress=True, schedule_scoring=False)
    # then the embedding of the missing essays runs with a progress bar
    assert embed.call_count == 1 and embed.call_args.kwargs["progress"] is True
    assert len(embed.call_args.args[1]) == conf.MIN_TRAINING_ESSAYS


def test_non_finite_validation_predictions_fail_the_run_and_it_never_serves(world, make_graded, monkeypatch, settings):
    # given an assignment's first training run, whose model predicts NaN (a diverged network)
    assignment = f.AssignmentFactory(course=world.course)
    make_graded(assignment, conf.MIN_TRAINING_ESSAYS)
    real_fit = FastScorer.fit.__func__

    def diverged(cls, *args, **kwargs):
        report = real_fit(cls, *args, **kwargs)
        report.extra["val_predictions"] = np.full_like(report.extra["val_predictions"], np.nan)
        return report

    monkeypatch.setattr(FastScorer, "fit", classmethod(diverged))
    # when it trains
    with pytest.raises(training.TrainingDiverged):
        grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    # then the run is failed with a reason a teacher can read, keeps no artefact and serves nothing
    record = GradingModel.objects.get(assignment=assignment)
    assert record.status == ModelStatus.FAILED and "diverged" in record.failure_reason
    assert not record.is_active and not record.artefact
    folder = Path(settings.EDUAI_MODEL_ROOT) / f"assignment-{assignment.pk}"
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.django_db
def test_a_model_root_without_file_locks_still_trains_and_the_sweep_keeps_unknown_folders(
    graded, monkeypatch, settings
):
    # given a model root on a filesystem that refuses locks (some network mounts: ENOLCK)
    import fcntl

    def no_locks(fd, op):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(training, "_train_into", _fake_train_into())
    # when a run trains, it trains (no lock, a warning), and leaves no temporary folder behind
    result = training.model_train(assignment_id=graded.pk, method="fast", schedule_scoring=False)
    assert GradingModel.objects.get(pk=result.model_id).status == ModelStatus.READY
    assert list((Path(settings.EDUAI_MODEL_ROOT) / ".tmp").iterdir()) == []
    # and the sweep, unable to tell a live run from a dead one there, keeps such a folder
    dead = GradingModel.objects.create(assignment=graded, version=9, method="finetune", status=ModelStatus.FAILED)
    folder = Path(settings.EDUAI_MODEL_ROOT) / ".tmp" / f"{training._tmp_prefix(graded.pk, dead.version)}x"
    folder.mkdir(parents=True)
    (folder / training.LOCK_FILE).touch()
    assert training.temp_folders_remove() == [] and folder.exists()


@pytest.mark.django_db
def test_a_database_outage_after_the_rename_keeps_the_artefact_of_a_record_that_may_be_ready(
    graded, monkeypatch, settings, caplog
):
    # given a run whose database goes away after its artefact was renamed into place: the save
    # fails, and so does marking the record failed
    monkeypatch.setattr(training, "_train_into", _fake_train_into())
    real_save, real_filter = GradingModel.save, GradingModel.objects.filter
    down = {"now": False}

    def save(self, *args, **kwargs):
        if self.status == ModelStatus.READY:
            down["now"] = True
            raise OperationalError("server closed the connection unexpectedly")
        return real_save(self, *args, **kwargs)

    class Gone:
        def __init__(self, qs):
            self.qs = qs

        def update(self, **kwargs):
            if down["now"]:
                raise OperationalError("server closed the connection unexpectedly")
            return self.qs.update(**kwargs)

        def __getattr__(self, name):
            return getattr(self.qs, name)

    monkeypatch.setattr(GradingModel, "save", save)
    monkeypatch.setattr(GradingModel.objects, "filter", lambda *a, **k: Gone(real_filter(*a, **k)))
    # when it trains, the error reaches the caller
    with pytest.raises(OperationalError):
        training.model_train(assignment_id=graded.pk, method="fast", schedule_scoring=False)
    # and as the save may have committed before the connection broke (the record may say
    # "ready"), the artefact is kept, and the log names it
    kept = _files(Path(settings.EDUAI_MODEL_ROOT))
    assert any(name.startswith(f"assignment-{graded.pk}/v0001-fast/") for name in kept)
    assert "could not be recorded; kept" in caplog.text
