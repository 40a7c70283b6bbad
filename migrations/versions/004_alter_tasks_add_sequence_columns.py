"""add sequence columns to tasks

The design document's migration ``004_alter_tasks_add_sequence_columns.sql``, verbatim but for BEGIN/COMMIT (Alembic runs
each revision in a transaction). ``downgrade`` is the document's "Rollback 004".

Revision ID: 004
Revises: 003
"""

from alembic import op

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
ALTER TABLE tasks
  ADD COLUMN IF NOT EXISTS sequence_instance_id UUID
    REFERENCES sequence_instances(id) ON DELETE SET NULL,
  ADD COLUMN IF NOT EXISTS sequence_step_order INTEGER;

-- Add constraints
ALTER TABLE tasks
  ADD CONSTRAINT tasks_sequence_step_order_check
  CHECK (sequence_step_order IS NULL OR sequence_step_order > 0);

ALTER TABLE tasks
  ADD CONSTRAINT tasks_sequence_consistency_check
  CHECK (
    (sequence_instance_id IS NULL AND sequence_step_order IS NULL) OR
    (sequence_instance_id IS NOT NULL AND sequence_step_order IS NOT NULL)
  );

-- Create indexes
CREATE INDEX idx_tasks_sequence_instance
  ON tasks(sequence_instance_id)
  WHERE sequence_instance_id IS NOT NULL;

CREATE INDEX idx_tasks_sequence_instance_order
  ON tasks(sequence_instance_id, sequence_step_order)
  WHERE sequence_instance_id IS NOT NULL;

CREATE INDEX idx_tasks_sequence_status
  ON tasks(sequence_instance_id, status)
  WHERE sequence_instance_id IS NOT NULL;

-- Add comments
COMMENT ON COLUMN tasks.sequence_instance_id IS 'Links task to sequence instance (NULL for standalone tasks)';
COMMENT ON COLUMN tasks.sequence_step_order IS 'Position in sequence (NULL for standalone tasks)';
"""

DOWNGRADE_SQL = r"""
DROP INDEX IF EXISTS idx_tasks_sequence_instance;
DROP INDEX IF EXISTS idx_tasks_sequence_instance_order;
DROP INDEX IF EXISTS idx_tasks_sequence_status;

-- Drop constraints
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_sequence_step_order_check;
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_sequence_consistency_check;

-- Drop columns
ALTER TABLE tasks DROP COLUMN IF EXISTS sequence_instance_id;
ALTER TABLE tasks DROP COLUMN IF EXISTS sequence_step_order;
"""

# Not in the design document, which contradicts itself here: ON DELETE SET NULL clears only
# tasks.sequence_instance_id, and tasks_sequence_consistency_check then rejects the row, so
# deleting any instance with tasks failed. The document says the tasks remain, unlinked:
# this trigger clears sequence_step_order whenever the link is cleared (by the foreign
# key's action or by hand), which makes that true.
CLEAR_STEP_ORDER_SQL = r"""
CREATE FUNCTION public.seqctl_tasks_clear_sequence_step_order() RETURNS trigger
  LANGUAGE plpgsql AS $fn$
  BEGIN
    NEW.sequence_step_order := NULL;
    RETURN NEW;
  END
  $fn$;

CREATE TRIGGER tasks_clear_sequence_step_order
  BEFORE UPDATE OF sequence_instance_id ON tasks
  FOR EACH ROW
  WHEN (OLD.sequence_instance_id IS NOT NULL AND NEW.sequence_instance_id IS NULL)
  EXECUTE FUNCTION public.seqctl_tasks_clear_sequence_step_order();
"""

DROP_CLEAR_STEP_ORDER_SQL = r"""
DROP TRIGGER IF EXISTS tasks_clear_sequence_step_order ON tasks;
DROP FUNCTION IF EXISTS public.seqctl_tasks_clear_sequence_step_order();
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL.strip().rstrip(";"))
    op.execute(CLEAR_STEP_ORDER_SQL.strip().rstrip(";"))


def downgrade() -> None:
    op.execute(DROP_CLEAR_STEP_ORDER_SQL.strip().rstrip(";"))
    op.execute(DOWNGRADE_SQL.strip().rstrip(";"))
