"""create sequence_instances

The design document's migration ``003_create_sequence_instances.sql``, verbatim but for BEGIN/COMMIT (Alembic runs
each revision in a transaction). ``downgrade`` is the document's "Rollback 003".

Revision ID: 003
Revises: 002
"""

from alembic import op

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE IF NOT EXISTS public.sequence_instances (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  sequence_template_id UUID NOT NULL REFERENCES sequence_templates(id) ON DELETE CASCADE,
  restaurant_id UUID NOT NULL REFERENCES restaurants(id) ON DELETE CASCADE,
  organisation_id UUID NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  status TEXT DEFAULT 'active' NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'cancelled')),
  current_step_order INTEGER DEFAULT 1,
  total_steps INTEGER NOT NULL CHECK (total_steps > 0),
  assigned_to UUID REFERENCES auth.users(id) ON DELETE SET NULL,
  created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
  started_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  paused_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  cancelled_at TIMESTAMPTZ,
  metadata JSONB DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  CONSTRAINT sequence_instances_completed_check CHECK (
    (status = 'completed' AND completed_at IS NOT NULL) OR (status != 'completed' AND completed_at IS NULL)
  ),
  CONSTRAINT sequence_instances_cancelled_check CHECK (
    (status = 'cancelled' AND cancelled_at IS NOT NULL) OR (status != 'cancelled' AND cancelled_at IS NULL)
  ),
  CONSTRAINT sequence_instances_paused_check CHECK (
    (status = 'paused' AND paused_at IS NOT NULL) OR (status != 'paused' AND paused_at IS NULL)
  )
);

-- Create indexes
CREATE INDEX idx_sequence_instances_template ON sequence_instances(sequence_template_id);
CREATE INDEX idx_sequence_instances_restaurant ON sequence_instances(restaurant_id);
CREATE INDEX idx_sequence_instances_org ON sequence_instances(organisation_id);
CREATE INDEX idx_sequence_instances_status ON sequence_instances(status);
CREATE INDEX idx_sequence_instances_assigned ON sequence_instances(assigned_to) WHERE assigned_to IS NOT NULL;
CREATE INDEX idx_sequence_instances_restaurant_status ON sequence_instances(restaurant_id, status);
CREATE INDEX idx_sequence_instances_org_status ON sequence_instances(organisation_id, status);

-- Enable RLS
ALTER TABLE sequence_instances ENABLE ROW LEVEL SECURITY;

-- Create RLS policies
CREATE POLICY sequence_instances_org_policy
  ON sequence_instances
  FOR ALL
  USING (
    organisation_id IN (
      SELECT organisation_id FROM profiles WHERE id = auth.uid()
    )
  );

CREATE POLICY sequence_instances_insert_policy
  ON sequence_instances
  FOR INSERT
  WITH CHECK (
    organisation_id IN (
      SELECT organisation_id FROM profiles WHERE id = auth.uid()
    )
  );

-- Create trigger for updated_at
CREATE TRIGGER update_sequence_instances_updated_at
  BEFORE UPDATE ON sequence_instances
  FOR EACH ROW
  EXECUTE FUNCTION update_updated_at_column();

-- Add comments
COMMENT ON TABLE sequence_instances IS 'Active sequences applied to restaurants';
COMMENT ON COLUMN sequence_instances.name IS 'Snapshot of template name at creation';
COMMENT ON COLUMN sequence_instances.current_step_order IS 'Current active step';
COMMENT ON COLUMN sequence_instances.total_steps IS 'Total steps (snapshot)';
"""

DOWNGRADE_SQL = r"""
DROP TABLE IF EXISTS sequence_instances CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL.strip().rstrip(";"))


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL.strip().rstrip(";"))
