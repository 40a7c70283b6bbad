"""create sequence_templates

The design document's migration ``001_create_sequence_templates.sql``, verbatim but for BEGIN/COMMIT (Alembic runs
each revision in a transaction). ``downgrade`` is the document's "Rollback 001".

Revision ID: 001
Revises: None
"""

from alembic import op

from seqctl.db.preexisting import DROP_UUID_FUNCTION_SQL, PREEXISTING_SQL

revision = "001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE IF NOT EXISTS public.sequence_templates (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  organisation_id UUID NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
  name TEXT NOT NULL CHECK (length(name) >= 3 AND length(name) <= 100),
  description TEXT CHECK (length(description) <= 1000),
  tags TEXT[] DEFAULT ARRAY[]::TEXT[],
  is_active BOOLEAN DEFAULT TRUE NOT NULL,
  usage_count INTEGER DEFAULT 0 NOT NULL,
  metadata JSONB DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
);

-- Create indexes
CREATE INDEX idx_sequence_templates_org ON sequence_templates(organisation_id);
CREATE INDEX idx_sequence_templates_active ON sequence_templates(is_active) WHERE is_active = TRUE;
CREATE INDEX idx_sequence_templates_tags ON sequence_templates USING GIN(tags);

-- Enable RLS
ALTER TABLE sequence_templates ENABLE ROW LEVEL SECURITY;

-- Create RLS policies
CREATE POLICY sequence_templates_org_policy
  ON sequence_templates
  FOR ALL
  USING (
    organisation_id IN (
      SELECT organisation_id FROM profiles WHERE id = auth.uid()
    )
  );

CREATE POLICY sequence_templates_insert_policy
  ON sequence_templates
  FOR INSERT
  WITH CHECK (
    organisation_id IN (
      SELECT organisation_id FROM profiles WHERE id = auth.uid()
    )
  );

-- Create trigger for updated_at
CREATE TRIGGER update_sequence_templates_updated_at
  BEFORE UPDATE ON sequence_templates
  FOR EACH ROW
  EXECUTE FUNCTION update_updated_at_column();

-- Add comments
COMMENT ON TABLE sequence_templates IS 'Reusable sequence workflow definitions';
COMMENT ON COLUMN sequence_templates.tags IS 'Array of tags for categorization';
COMMENT ON COLUMN sequence_templates.usage_count IS 'Number of times used';
"""

DOWNGRADE_SQL = r"""
DROP TABLE IF EXISTS sequence_templates CASCADE;
"""


def upgrade() -> None:
    # The CRM tables this builds on, created only where missing (never replaced).
    op.execute(PREEXISTING_SQL.strip().rstrip(";"))
    op.execute(UPGRADE_SQL.strip().rstrip(";"))


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL.strip().rstrip(";"))
    # seqctl's public.uuid_generate_v4(), if it made one that nothing else uses
    op.execute(DROP_UUID_FUNCTION_SQL.strip().rstrip(";"))
