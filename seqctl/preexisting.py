"""The CRM objects the sequence tables build on, created only where missing.

On a real Supabase database all of these exist already and this changes nothing: every
object is guarded by an existence check, nothing is replaced, and no downgrade drops
any of them. On an empty database (the embedded server, tests) it creates a small but
realistic CRM: organisations, auth.users with auth.uid(), profiles, restaurants,
task_templates, message_templates and tasks.
"""

from __future__ import annotations

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

  IF to_regclass('public.organisations') IS NULL THEN
    CREATE TABLE public.organisations (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      name TEXT NOT NULL,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE TRIGGER update_organisations_updated_at BEFORE UPDATE ON public.organisations
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.profiles') IS NULL THEN
    CREATE TABLE public.profiles (
      id UUID PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
      organisation_id UUID REFERENCES public.organisations(id) ON DELETE SET NULL,
      email TEXT,
      full_name TEXT,
      role TEXT DEFAULT 'member',
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE INDEX idx_profiles_organisation ON public.profiles(organisation_id);
    CREATE TRIGGER update_profiles_updated_at BEFORE UPDATE ON public.profiles
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.restaurants') IS NULL THEN
    CREATE TABLE public.restaurants (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      email TEXT,
      phone TEXT,
      address TEXT,
      city TEXT,
      website TEXT,
      cuisine TEXT,
      contact_name TEXT,
      contact_email TEXT,
      contact_phone TEXT,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE INDEX idx_restaurants_organisation ON public.restaurants(organisation_id);
    CREATE TRIGGER update_restaurants_updated_at BEFORE UPDATE ON public.restaurants
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.task_templates') IS NULL THEN
    CREATE TABLE public.task_templates (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      description TEXT,
      type TEXT NOT NULL DEFAULT 'internal_activity',
      priority TEXT NOT NULL DEFAULT 'medium',
      default_message TEXT,
      is_active BOOLEAN NOT NULL DEFAULT TRUE,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE INDEX idx_task_templates_organisation ON public.task_templates(organisation_id);
    CREATE TRIGGER update_task_templates_updated_at BEFORE UPDATE ON public.task_templates
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.message_templates') IS NULL THEN
    CREATE TABLE public.message_templates (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      type TEXT NOT NULL DEFAULT 'email',
      subject TEXT,
      content TEXT NOT NULL,
      is_active BOOLEAN NOT NULL DEFAULT TRUE,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE INDEX idx_message_templates_organisation ON public.message_templates(organisation_id);
    CREATE TRIGGER update_message_templates_updated_at BEFORE UPDATE ON public.message_templates
      FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
  END IF;

  IF to_regclass('public.tasks') IS NULL THEN
    CREATE TABLE public.tasks (
      id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      organisation_id UUID NOT NULL REFERENCES public.organisations(id) ON DELETE CASCADE,
      restaurant_id UUID REFERENCES public.restaurants(id) ON DELETE SET NULL,
      task_template_id UUID REFERENCES public.task_templates(id) ON DELETE SET NULL,
      message_template_id UUID REFERENCES public.message_templates(id) ON DELETE SET NULL,
      name TEXT NOT NULL,
      description TEXT,
      type TEXT NOT NULL DEFAULT 'internal_activity' CHECK (
        type IN ('internal_activity', 'social_message', 'text', 'email', 'call')
      ),
      status TEXT NOT NULL DEFAULT 'pending' CHECK (
        status IN ('pending', 'active', 'completed', 'cancelled')
      ),
      priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
      message TEXT,
      message_rendered TEXT,
      due_date TIMESTAMPTZ,
      completed_at TIMESTAMPTZ,
      cancelled_at TIMESTAMPTZ,
      assigned_to UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      created_by UUID REFERENCES auth.users(id) ON DELETE SET NULL,
      metadata JSONB DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ DEFAULT NOW() NOT NULL,
      updated_at TIMESTAMPTZ DEFAULT NOW() NOT NULL
    );
    CREATE INDEX idx_tasks_organisation ON public.tasks(organisation_id);
    CREATE INDEX idx_tasks_restaurant ON public.tasks(restaurant_id);
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

# The comment that marks a public.uuid_generate_v4() as seqctl's own (see above).
UUID_FUNCTION_MARK = "created by seqctl"

# Undoes the one pre-existing object seqctl may add to a real Supabase database (where the
# extension lives in `extensions`, off the search path): its public.uuid_generate_v4(),
# dropped only when it carries seqctl's mark and nothing (a column default of a table seqctl
# keeps, the application's own objects) depends on it. Never anyone else's function.
DROP_UUID_FUNCTION_SQL = rf"""
DO $seqctl$
DECLARE
  created regprocedure := to_regprocedure('public.uuid_generate_v4()');
BEGIN
  IF created IS NOT NULL
     AND obj_description(created, 'pg_proc') IS NOT DISTINCT FROM '{UUID_FUNCTION_MARK}'
     AND NOT EXISTS (
       SELECT 1 FROM pg_depend
       WHERE refclassid = 'pg_proc'::regclass AND refobjid = created
     ) THEN
    DROP FUNCTION public.uuid_generate_v4();
  END IF;
END
$seqctl$;
"""

PREEXISTING_TABLES = (
    "auth.users",
    "public.organisations",
    "public.profiles",
    "public.restaurants",
    "public.task_templates",
    "public.message_templates",
    "public.tasks",
)
