"""Messages shown to users name files without the server's folders (``without_file_paths``)."""

from __future__ import annotations

import pytest

from eduai.courses.api import without_file_paths


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        # an OSError quotes its path, spaces and all
        (
            "OSError: [Errno 28] No space left on device: '/srv/edu ai/models/grading/a1/v1/fast.pkl'",
            "OSError: [Errno 28] No space left on device: 'fast.pkl'",
        ),
        # and in double quotes when the path holds an apostrophe
        (
            'FileNotFoundError: [Errno 2] No such file or directory: "/home/o\'brien/edu ai/v1/model.onnx"',
            'FileNotFoundError: [Errno 2] No such file or directory: "model.onnx"',
        ),
        # an unquoted path runs to the first space, as it always did
        ("could not write /srv/eduai/models/a1/weights.npz: disk full", "could not write weights.npz: disk full"),
        # two paths in one message, one quoted and one not
        (
            "OSError: rename '/srv/edu ai/.tmp/a1 v2' to /srv/m/a1/v2 failed",
            "OSError: rename 'a1 v2' to v2 failed",
        ),
    ],
)
def test_file_paths_are_reduced_to_their_last_part(message, shown):
    # given a message with absolute file paths in it
    # when it is made fit to show
    # then each path is named by its last part, quotes kept
    assert without_file_paths(message) == shown


@pytest.mark.parametrize(
    "message",
    [
        "out of memory",
        "see https://example.org/docs/grading and ~/notes, ./a/b or ../c",
        "the student's essay isn't 'here' yet",
        "interrupted",
    ],
)
def test_messages_without_file_paths_are_left_as_they_are(message):
    # given a message with no absolute file path (a URL, relative paths, apostrophes)
    # when it is made fit to show
    # then it is unchanged
    assert without_file_paths(message) == message
