"""subject_line and demo_meeting on sequence_steps

The application's own later change to the design (its migration
``20251122_add_subject_line_demo_meeting_to_sequence_steps.sql``): an email step's
``subject_line`` and the step type ``demo_meeting``. Idempotent, so that a database whose
sequence tables the application created (and already changed) is adopted unchanged.

``downgrade`` drops the column (its subject lines with it) and restores the design's type
CHECK. It refuses, changing nothing, while any step is a ``demo_meeting``: the old CHECK
cannot hold such a row, and seqctl never rewrites a step's type behind its owner's back.

Self-contained: imports nothing from seqctl.

Revision ID: 005
Revises: 004
"""

from alembic import op

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
ALTER TABLE public.sequence_steps
  ADD COLUMN IF NOT EXISTS subject_line TEXT NULL;

COMMENT ON COLUMN public.sequence_steps.subject_line IS
  'Email subject line for email type sequence steps (supports variable replacement)';

ALTER TABLE public.sequence_steps
  DROP CONSTRAINT IF EXISTS sequence_steps_type_check;

ALTER TABLE public.sequence_steps
  ADD CONSTRAINT sequence_steps_type_check CHECK (
    type = ANY (ARRAY['internal_activity'::text, 'social_message'::text, 'text'::text,
                      'email'::text, 'call'::text, 'demo_meeting'::text])
  );
"""

REFUSE_DEMO_MEETING_SQL = r"""
DO $seqctl$
DECLARE
  steps bigint;
BEGIN
  SELECT count(*) INTO steps FROM public.sequence_steps WHERE type = 'demo_meeting';
  IF steps > 0 THEN
    RAISE EXCEPTION 'cannot roll back revision 005: % step(s) are demo_meeting steps', steps
      USING ERRCODE = 'object_in_use',
            HINT = 'revision 004 has no demo_meeting type: change those steps to another '
                   'type or delete them (in their files, then seqctl sync); nothing changed';
  END IF;
END
$seqctl$;
"""

DOWNGRADE_SQL = r"""
ALTER TABLE public.sequence_steps
  DROP CONSTRAINT IF EXISTS sequence_steps_type_check;

ALTER TABLE public.sequence_steps
  ADD CONSTRAINT sequence_steps_type_check CHECK (
    type IN ('internal_activity', 'social_message', 'text', 'email', 'call')
  );

ALTER TABLE public.sequence_steps DROP COLUMN IF EXISTS subject_line;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL.strip().rstrip(";"))


def downgrade() -> None:
    op.execute(REFUSE_DEMO_MEETING_SQL.strip().rstrip(";"))
    op.execute(DOWNGRADE_SQL.strip().rstrip(";"))
