"""create sequence_steps

The design document's migration ``002_create_sequence_steps.sql``, verbatim but for BEGIN/COMMIT (Alembic runs
each revision in a transaction). ``downgrade`` is the document's "Rollback 002".

Revision ID: 002
Revises: 001
"""

from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE IF NOT EXISTS public.sequence_steps (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  sequence_template_id UUID NOT NULL REFERENCES sequence_templates(id) ON DELETE CASCADE,
  step_order INTEGER NOT NULL CHECK (step_order > 0),
  name TEXT NOT NULL CHECK (length(name) >= 3 AND length(name) <= 100),
  description TEXT CHECK (length(description) <= 500),
  task_template_id UUID REFERENCES task_templates(id) ON DELETE SET NULL,
  type TEXT NOT NULL CHECK (type IN ('internal_activity', 'social_message', 'text', 'email', 'call')),
  priority TEXT DEFAULT 'medium' NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
  message_template_id UUID REFERENCES message_templates(id) ON DELETE SET NULL,
  custom_message TEXT,
  delay_value INTEGER DEFAULT 0 NOT NULL CHECK (delay_value >= 0),
  delay_unit TEXT DEFAULT 'days' NOT NULL CHECK (delay_unit IN ('minutes', 'hours', 'days')),
  metadata JSONB DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  CONSTRAINT sequence_steps_unique_order UNIQUE (sequence_template_id, step_order)
);

-- Create indexes
CREATE INDEX idx_sequence_steps_template ON sequence_steps(sequence_template_id);
CREATE INDEX idx_sequence_steps_template_order ON sequence_steps(sequence_template_id, step_order);
CREATE INDEX idx_sequence_steps_task_template ON sequence_steps(task_template_id) WHERE task_template_id IS NOT NULL;

-- Enable RLS
ALTER TABLE sequence_steps ENABLE ROW LEVEL SECURITY;

-- Create RLS policies
CREATE POLICY sequence_steps_org_policy
  ON sequence_steps
  FOR ALL
  USING (
    sequence_template_id IN (
      SELECT id FROM sequence_templates
      WHERE organisation_id IN (
        SELECT organisation_id FROM profiles WHERE id = auth.uid()
      )
    )
  );

CREATE POLICY sequence_steps_insert_policy
  ON sequence_steps
  FOR INSERT
  WITH CHECK (
    sequence_template_id IN (
      SELECT id FROM sequence_templates
      WHERE organisation_id IN (
        SELECT organisation_id FROM profiles WHERE id = auth.uid()
      )
    )
  );

-- Create trigger for updated_at
CREATE TRIGGER update_sequence_steps_updated_at
  BEFORE UPDATE ON sequence_steps
  FOR EACH ROW
  EXECUTE FUNCTION update_updated_at_column();

-- Add comments
COMMENT ON TABLE sequence_steps IS 'Steps within sequence templates';
COMMENT ON COLUMN sequence_steps.step_order IS 'Order of step in sequence (1-indexed)';
COMMENT ON COLUMN sequence_steps.delay_value IS 'Number of time units to delay';
COMMENT ON COLUMN sequence_steps.delay_unit IS 'Unit: minutes, hours, or days';
"""

DOWNGRADE_SQL = r"""
DROP TABLE IF EXISTS sequence_steps CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL.strip().rstrip(";"))


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL.strip().rstrip(";"))
