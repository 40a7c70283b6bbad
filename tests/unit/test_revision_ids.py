"""Revision ids are read from the migrations folder once, not written out in the code."""

from __future__ import annotations

from seqctl.db import adopt, migrate
from seqctl.db.connection import HEAD_REVISION, REVISION_IDS


def test_revision_ids_from_the_folder_are_alembics_revisions() -> None:
    assert REVISION_IDS == tuple(rev for rev, _down, _doc in migrate.revisions())
    assert HEAD_REVISION == REVISION_IDS[-1]


def test_revision_ids_named_in_the_code_are_known() -> None:
    named = {adopt.ADOPTED_REVISION, adopt.SUBJECT_LINE_REVISION, *migrate._LOSS_QUERIES}
    assert named <= set(REVISION_IDS)
