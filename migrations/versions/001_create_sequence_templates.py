"""create sequence_templates

The design document's migration ``001_create_sequence_templates.sql``, verbatim but for BEGIN/COMMIT (Alembic runs
each revision in a transaction). ``downgrade`` is the document's "Rollback 001".

Revision ID: 001
Revises: None
"""

from alembic import op

revision = "001"
down_revision = None
branch_labels = None
depends_on = None

# The CRM objects the sequence tables build on, created only where missing. Inlined, not
# imported: a later edit of seqctl's code must never rewrite a migration that databases
# already ran. This is the one copy of that SQL (tests that need the objects run it from
# here; tests/db/test_frozen_migrations.py checks no revision imports seqctl).
PREEXISTING_SQL = r"""
-- remember whether this database is getting seqctl's own CRM tables (not Supabase's)
SELECT set_config('seqctl.creates_crm', (to_regclass('public.tasks') IS NULL)::text, true);

-- Supabase's `authenticated` role, for row level security (seqctl --as-user). Where seqctl
-- made the CRM tables itself (not on Supabase), it also gives that role what Supabase
-- gives it: table privileges by default, and organisation policies on the CRM tables.
DO $seqctl$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    BEGIN
      CREATE ROLE authenticated NOLOGIN NOINHERIT;
      EXECUTE format('GRANT authenticated TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege OR duplicate_object THEN
      NULL;
    END;
  END IF;
END
$seqctl$;
-- uuid_generate_v4(): from uuid-ossp where the server has it, else a function over
-- gen_random_uuid() (PostgreSQL 13+ core)
DO $seqctl$
BEGIN
  IF to_regproc('uuid_generate_v4') IS NULL THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END IF;
  IF to_regproc('uuid_generate_v4') IS NULL THEN
    CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid
      LANGUAGE sql VOLATILE PARALLEL SAFE AS 'SELECT gen_random_uuid()';
    -- the mark by which `db downgrade base` knows this one is seqctl's to drop
    COMMENT ON FUNCTION public.uuid_generate_v4() IS 'created by seqctl';
  END IF;
END
$seqctl$;

DO $seqctl$
BEGIN
  IF to_regprocedure('public.update_updated_at_column()') IS NULL THEN
    CREATE FUNCTION public.update_updated_at_column() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        NEW.updated_at = NOW();
        RETURN NEW;
      END
      $fn$;
  END IF;
END
$seqctl$;

CREATE SCHEMA IF NOT EXISTS auth;

DO $seqctl$
BEGIN
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      email TEXT UNIQUE,
      raw_user_meta_data JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
  END IF;

  -- auth.uid(): the subject of the request's JWT, as Supabase sets it
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE AS $fn$
        SELECT COALESCE(
          NULLIF(current_setting('request.jwt.claim.sub', true), ''),
          (NULLIF(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $fn$;
  END IF;

  -- The CRM tables below follow the application's own definitions (Pumpdnz/
  -- restaurant-menu-automation: its database-schemas/*.sql and supabase/migrations/, up to
  -- 20251122) for every column seqctl reads or writes; see docs in README "Pointing seqctl
  -- at your Supabase project". Deliberate differences, kept so that seqctl's own tests
  -- stay strict: tasks.type keeps a default, tasks.restaurant_id is ON DELETE SET NULL
  -- (task history survives a deleted restaurant) and profiles.email may be NULL.
  IF to_regclass('public.organisations') IS NULL THEN
    CREATE TABLE public.organisations (
      id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
      name TEXT NOT NULL,
      settings JSONB DEFAULT '{}'::jsonb,
      status TEXT DEFAULT 'active' CONSTRAINT organisations_status_check
        CHECK (status = ANY (ARRAY['active'::text, 'archived'::text])),
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW(),
      archived_at TIMESTAMPTZ,
      archived_by UUID REFERENCES auth.users(id)
    );
    CREATE TRIGGER update_organisations_updated_at BEFORE UPDATE ON public.organisations
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.profiles') IS NULL THEN
    CREATE TABLE public.profiles (
      id UUID PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
      email TEXT,
      name TEXT,
      role TEXT CONSTRAINT profiles_role_check
        CHECK (role IN ('super_admin', 'admin', 'user')),
      organisation_id UUID REFERENCES public.organisations(id),
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW()
    );
    CREATE INDEX idx_profiles_org_user ON public.profiles(organisation_id, id);
    CREATE TRIGGER update_profiles_updated_at BEFORE UPDATE ON public.profiles
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.restaurants') IS NULL THEN
    CREATE TABLE public.restaurants (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      name VARCHAR(255) NOT NULL,
      slug VARCHAR(255) UNIQUE,
      address TEXT,
      phone VARCHAR(50),
      email VARCHAR(255),
      website VARCHAR(255),
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW(),
      contact_name TEXT,
      contact_email TEXT,
      contact_phone TEXT,
      ubereats_url TEXT,
      doordash_url TEXT,
      website_url TEXT,
      instagram_url TEXT,
      facebook_url TEXT,
      opening_hours JSONB,
      opening_hours_text TEXT,
      cuisine TEXT[],
      organisation_name TEXT,
      subdomain TEXT UNIQUE,
      onboarding_status TEXT DEFAULT 'lead',
      city TEXT,
      organisation_id UUID REFERENCES public.organisations(id),
      created_by UUID REFERENCES auth.users(id),
      lead_type TEXT CONSTRAINT restaurants_lead_type_check
        CHECK (lead_type = ANY (ARRAY['inbound'::text, 'outbound'::text])),
      lead_category TEXT CONSTRAINT restaurants_lead_category_check
        CHECK (lead_category = ANY (ARRAY['paid_ads'::text, 'organic_content'::text,
          'warm_outreach'::text, 'cold_outreach'::text])),
      lead_engagement_source TEXT,
      lead_warmth TEXT CONSTRAINT restaurants_lead_warmth_check
        CHECK (lead_warmth = ANY (ARRAY['frozen'::text, 'cold'::text, 'warm'::text,
          'hot'::text])),
      lead_stage TEXT CONSTRAINT restaurants_lead_stage_check
        CHECK (lead_stage = ANY (ARRAY['uncontacted'::text, 'reached_out'::text,
          'in_talks'::text, 'demo_booked'::text, 'rebook_demo'::text, 'demo_completed'::text,
          'contract_sent'::text, 'closed_won'::text, 'closed_lost'::text,
          'reengaging'::text])),
      lead_status TEXT CONSTRAINT restaurants_lead_status_check
        CHECK (lead_status = ANY (ARRAY['active'::text, 'inactive'::text, 'ghosted'::text,
          'reengaging'::text, 'closed'::text])),
      icp_rating INTEGER CONSTRAINT restaurants_icp_rating_check
        CHECK (icp_rating >= 0 AND icp_rating <= 10),
      last_contacted TIMESTAMPTZ,
      demo_store_built BOOLEAN DEFAULT FALSE,
      demo_store_url TEXT,
      assigned_sales_rep UUID REFERENCES auth.users(id),
      contact_role TEXT,
      number_of_venues INTEGER CONSTRAINT restaurants_number_of_venues_check
        CHECK (number_of_venues IS NULL OR number_of_venues > 0),
      point_of_sale TEXT,
      online_ordering_platform TEXT,
      online_ordering_handles_delivery BOOLEAN,
      self_delivery BOOLEAN,
      weekly_uber_sales_volume NUMERIC(10, 2)
        CONSTRAINT restaurants_weekly_uber_sales_volume_check
        CHECK (weekly_uber_sales_volume IS NULL OR weekly_uber_sales_volume >= 0),
      uber_aov NUMERIC(10, 2) CONSTRAINT restaurants_uber_aov_check
        CHECK (uber_aov IS NULL OR uber_aov >= 0),
      uber_markup NUMERIC(5, 2) CONSTRAINT restaurants_uber_markup_check
        CHECK (uber_markup IS NULL OR (uber_markup >= 0 AND uber_markup <= 100)),
      uber_profitability NUMERIC(5, 2) CONSTRAINT restaurants_uber_profitability_check
        CHECK (uber_profitability IS NULL OR
               (uber_profitability >= -100 AND uber_profitability <= 100)),
      uber_profitability_description TEXT,
      current_marketing_description TEXT,
      website_type TEXT CONSTRAINT restaurants_website_type_check
        CHECK (website_type IS NULL OR
               website_type = ANY (ARRAY['platform_subdomain'::text, 'custom_domain'::text])),
      painpoints JSONB DEFAULT '[]'::jsonb,
      core_selling_points JSONB DEFAULT '[]'::jsonb,
      features_to_highlight JSONB DEFAULT '[]'::jsonb,
      possible_objections JSONB DEFAULT '[]'::jsonb,
      details TEXT,
      meeting_link TEXT,
      company_name TEXT
    );
    CREATE INDEX idx_restaurants_org ON public.restaurants(organisation_id);
    CREATE INDEX idx_restaurants_assigned_sales_rep ON public.restaurants(assigned_sales_rep);
    CREATE TRIGGER update_restaurants_updated_at BEFORE UPDATE ON public.restaurants
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.message_templates') IS NULL THEN
    CREATE TABLE public.message_templates (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      name TEXT NOT NULL,
      description TEXT,
      type TEXT NOT NULL CONSTRAINT message_templates_type_check
        CHECK (type = ANY (ARRAY['social_message'::text, 'text'::text, 'email'::text])),
      message_content TEXT NOT NULL,
      is_active BOOLEAN DEFAULT TRUE,
      usage_count INTEGER DEFAULT 0,
      available_variables JSONB DEFAULT '[]'::jsonb,
      preview_data JSONB DEFAULT '{}'::jsonb,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW(),
      subject_line TEXT
    );
    CREATE INDEX idx_message_templates_organisation ON public.message_templates(organisation_id);
    CREATE TRIGGER update_message_templates_updated_at BEFORE UPDATE ON public.message_templates
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.task_templates') IS NULL THEN
    CREATE TABLE public.task_templates (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      message_template_id UUID REFERENCES public.message_templates(id) ON DELETE SET NULL,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      name TEXT NOT NULL,
      description TEXT,
      type TEXT NOT NULL CONSTRAINT task_templates_type_check
        CHECK (type = ANY (ARRAY['internal_activity'::text, 'social_message'::text,
          'text'::text, 'email'::text, 'call'::text, 'demo_meeting'::text])),
      priority TEXT NOT NULL DEFAULT 'medium' CONSTRAINT task_templates_priority_check
        CHECK (priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text])),
      default_message TEXT,
      is_active BOOLEAN DEFAULT TRUE,
      usage_count INTEGER DEFAULT 0,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW(),
      subject_line TEXT
    );
    CREATE INDEX idx_task_templates_organisation ON public.task_templates(organisation_id);
    CREATE TRIGGER update_task_templates_updated_at BEFORE UPDATE ON public.task_templates
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.tasks') IS NULL THEN
    CREATE TABLE public.tasks (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      restaurant_id UUID REFERENCES public.restaurants(id) ON DELETE SET NULL,
      task_template_id UUID REFERENCES public.task_templates(id) ON DELETE SET NULL,
      message_template_id UUID REFERENCES public.message_templates(id) ON DELETE SET NULL,
      assigned_to UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      name TEXT NOT NULL,
      description TEXT,
      status TEXT NOT NULL DEFAULT 'pending' CONSTRAINT tasks_status_check
        CHECK (status = ANY (ARRAY['pending'::text, 'active'::text, 'completed'::text,
          'cancelled'::text])),
      type TEXT NOT NULL DEFAULT 'internal_activity' CONSTRAINT tasks_type_check
        CHECK (type = ANY (ARRAY['internal_activity'::text, 'social_message'::text,
          'text'::text, 'email'::text, 'call'::text, 'demo_meeting'::text])),
      priority TEXT NOT NULL DEFAULT 'medium' CONSTRAINT tasks_priority_check
        CHECK (priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text])),
      message TEXT,
      message_rendered TEXT,
      due_date TIMESTAMPTZ,
      completed_at TIMESTAMPTZ,
      cancelled_at TIMESTAMPTZ,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW(),
      updated_at TIMESTAMPTZ DEFAULT NOW(),
      subject_line TEXT,
      subject_line_rendered TEXT
    );
    CREATE INDEX idx_tasks_organisation ON public.tasks(organisation_id);
    CREATE INDEX idx_tasks_restaurant ON public.tasks(restaurant_id);
    CREATE INDEX idx_tasks_assigned_status ON public.tasks(assigned_to, status);
    CREATE TRIGGER update_tasks_updated_at BEFORE UPDATE ON public.tasks
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;
END
$seqctl$;
DO $seqctl$
DECLARE
  crm_table text;
BEGIN
  IF current_setting('seqctl.creates_crm', true) IS DISTINCT FROM 'true'
     OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    RETURN;
  END IF;
  GRANT USAGE ON SCHEMA public, auth TO authenticated;
  ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO authenticated;
  GRANT SELECT ON public.organisations, public.profiles TO authenticated;
  -- A user sees their own organisation and its members, nobody else's (their email
  -- included). The organisations a user belongs to come from a SECURITY DEFINER function,
  -- so that the policy on profiles does not recurse into itself.
  CREATE FUNCTION public.seqctl_user_organisation_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
      SELECT p.organisation_id FROM public.profiles p
      WHERE p.id = auth.uid() AND p.organisation_id IS NOT NULL
    $fn$;
  -- (executable by every role, as functions are by default: it tells only the caller's own
  -- organisations)
  ALTER TABLE public.organisations ENABLE ROW LEVEL SECURITY;
  CREATE POLICY organisations_member_select ON public.organisations FOR SELECT
    USING (id IN (SELECT public.seqctl_user_organisation_ids()));
  ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
  CREATE POLICY profiles_organisation_select ON public.profiles FOR SELECT
    USING (id = auth.uid()
           OR organisation_id IN (SELECT public.seqctl_user_organisation_ids()));
  FOREACH crm_table IN ARRAY ARRAY['restaurants', 'task_templates', 'message_templates', 'tasks']
  LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO authenticated',
                   crm_table);
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', crm_table);
    EXECUTE format(
      'CREATE POLICY %I ON public.%I FOR ALL USING (organisation_id IN '
      '(SELECT organisation_id FROM public.profiles WHERE id = auth.uid()))',
      crm_table || '_org_policy', crm_table);
  END LOOP;
END
$seqctl$;
"""

DROP_UUID_FUNCTION_SQL = r"""
DO $seqctl$
DECLARE
  created regprocedure := to_regprocedure('public.uuid_generate_v4()');
BEGIN
  IF created IS NOT NULL
     AND obj_description(created, 'pg_proc') IS NOT DISTINCT FROM 'created by seqctl'
     AND NOT EXISTS (
       SELECT 1 FROM pg_depend
       WHERE refclassid = 'pg_proc'::regclass AND refobjid = created
     ) THEN
    DROP FUNCTION public.uuid_generate_v4();
  END IF;
END
$seqctl$;
"""

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
