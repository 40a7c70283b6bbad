-- The application's CRM tables (Pumpdnz/restaurant-menu-automation), written from its
-- documented definitions: planning/database-plans/sales-specific-features/lead-scraping/
-- database-schemas/*.sql, the supabase/migrations up to 20251122 (subject lines,
-- demo_meeting, demo qualification columns), the multi-tenant profiles table and its RLS
-- helpers and policies (has_org_access, user_can_access_org_data, tasks/templates org
-- policies, organisations "org_select_member", profiles "view all"). Columns that no part
-- of seqctl or of the application's message variables touches are partly left out.

CREATE TABLE public.organisations (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  name text NOT NULL,
  stripe_customer_id text UNIQUE,
  stripe_subscription_id text,
  settings jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  status text DEFAULT 'active'::text
    CONSTRAINT organisations_status_check CHECK (status = ANY (ARRAY['active'::text, 'archived'::text])),
  feature_flags jsonb DEFAULT '{"tasksAndSequences": {"enabled": true}}'::jsonb,
  billing_rates jsonb DEFAULT '{}'::jsonb,
  archived_at timestamptz,
  archived_by uuid REFERENCES auth.users (id)
);
CREATE INDEX idx_organisations_status ON public.organisations USING btree (status);
CREATE TRIGGER update_organisations_updated_at BEFORE UPDATE ON organisations
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users (id),
  email text NOT NULL,
  name text,
  role text CHECK (role IN ('super_admin', 'admin', 'user')),
  organisation_id uuid REFERENCES organisations (id),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_profiles_org_user ON public.profiles (organisation_id, id);

CREATE TABLE public.restaurants (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4() PRIMARY KEY,
  name varchar(255) NOT NULL,
  slug varchar(255) UNIQUE,
  address text,
  phone varchar(50),
  email varchar(255),
  website varchar(255),
  logo_url text,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  contact_name text,
  contact_email text,
  contact_phone text,
  ubereats_url text,
  doordash_url text,
  website_url text,
  instagram_url text,
  facebook_url text,
  opening_hours jsonb,
  opening_hours_text text,
  cuisine text[],
  organisation_name text,
  subdomain text UNIQUE,
  onboarding_status text DEFAULT 'lead'::text,
  city text,
  organisation_id uuid REFERENCES organisations (id),
  created_by uuid REFERENCES auth.users (id),
  lead_type text CONSTRAINT restaurants_lead_type_check
    CHECK (lead_type = ANY (ARRAY['inbound'::text, 'outbound'::text])),
  lead_category text,
  lead_engagement_source text,
  lead_warmth text CONSTRAINT restaurants_lead_warmth_check
    CHECK (lead_warmth = ANY (ARRAY['frozen'::text, 'cold'::text, 'warm'::text, 'hot'::text])),
  lead_stage text CONSTRAINT restaurants_lead_stage_check
    CHECK (lead_stage = ANY (ARRAY['uncontacted'::text, 'reached_out'::text, 'in_talks'::text,
      'demo_booked'::text, 'rebook_demo'::text, 'demo_completed'::text, 'contract_sent'::text,
      'closed_won'::text, 'closed_lost'::text, 'reengaging'::text])),
  lead_status text CONSTRAINT restaurants_lead_status_check
    CHECK (lead_status = ANY (ARRAY['active'::text, 'inactive'::text, 'ghosted'::text,
      'reengaging'::text, 'closed'::text])),
  icp_rating integer CONSTRAINT restaurants_icp_rating_check CHECK (icp_rating >= 0 AND icp_rating <= 10),
  last_contacted timestamptz,
  demo_store_built boolean DEFAULT false,
  demo_store_url text,
  assigned_sales_rep uuid REFERENCES auth.users (id),
  contact_role text,
  number_of_venues integer CHECK (number_of_venues IS NULL OR number_of_venues > 0),
  point_of_sale text,
  online_ordering_platform text,
  online_ordering_handles_delivery boolean,
  self_delivery boolean,
  weekly_uber_sales_volume numeric(10, 2),
  uber_aov numeric(10, 2),
  uber_markup numeric(5, 2),
  uber_profitability numeric(5, 2),
  uber_profitability_description text,
  current_marketing_description text,
  website_type text CHECK (website_type IS NULL OR website_type = ANY (ARRAY['platform_subdomain'::text, 'custom_domain'::text])),
  painpoints jsonb DEFAULT '[]'::jsonb,
  core_selling_points jsonb DEFAULT '[]'::jsonb,
  features_to_highlight jsonb DEFAULT '[]'::jsonb,
  possible_objections jsonb DEFAULT '[]'::jsonb,
  details text,
  meeting_link text,
  company_name text
);
CREATE INDEX idx_restaurants_org ON public.restaurants USING btree (organisation_id);
CREATE INDEX idx_restaurants_assigned_sales_rep ON public.restaurants USING btree (assigned_sales_rep);
CREATE TRIGGER update_restaurants_updated_at BEFORE UPDATE ON restaurants
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.message_templates (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4() PRIMARY KEY,
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  name text NOT NULL,
  description text,
  type text NOT NULL CONSTRAINT message_templates_type_check
    CHECK (type = ANY (ARRAY['social_message'::text, 'text'::text, 'email'::text])),
  message_content text NOT NULL,
  is_active boolean DEFAULT true,
  usage_count integer DEFAULT 0,
  available_variables jsonb DEFAULT '[]'::jsonb,
  preview_data jsonb DEFAULT '{}'::jsonb,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  subject_line text
);
CREATE INDEX idx_message_templates_organisation ON public.message_templates USING btree (organisation_id);
CREATE TRIGGER update_message_templates_updated_at BEFORE UPDATE ON message_templates
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.task_templates (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4() PRIMARY KEY,
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  message_template_id uuid REFERENCES message_templates (id) ON DELETE SET NULL,
  created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  name text NOT NULL,
  description text,
  type text NOT NULL CONSTRAINT task_templates_type_check
    CHECK (type = ANY (ARRAY['internal_activity'::text, 'social_message'::text, 'text'::text,
      'email'::text, 'call'::text, 'demo_meeting'::text])),
  priority text NOT NULL DEFAULT 'medium'::text CONSTRAINT task_templates_priority_check
    CHECK (priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text])),
  default_message text,
  is_active boolean DEFAULT true,
  usage_count integer DEFAULT 0,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  subject_line text
);
CREATE INDEX idx_task_templates_organisation ON public.task_templates USING btree (organisation_id);
CREATE TRIGGER update_task_templates_updated_at BEFORE UPDATE ON task_templates
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.tasks (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4() PRIMARY KEY,
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  restaurant_id uuid REFERENCES restaurants (id) ON DELETE CASCADE,
  task_template_id uuid REFERENCES task_templates (id) ON DELETE SET NULL,
  message_template_id uuid REFERENCES message_templates (id) ON DELETE SET NULL,
  assigned_to uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  name text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'pending'::text CONSTRAINT tasks_status_check
    CHECK (status = ANY (ARRAY['pending'::text, 'active'::text, 'completed'::text, 'cancelled'::text])),
  type text NOT NULL CONSTRAINT tasks_type_check
    CHECK (type = ANY (ARRAY['internal_activity'::text, 'social_message'::text, 'text'::text,
      'email'::text, 'call'::text, 'demo_meeting'::text])),
  priority text NOT NULL DEFAULT 'medium'::text CONSTRAINT tasks_priority_check
    CHECK (priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text])),
  message text,
  message_rendered text,
  due_date timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  subject_line text,
  subject_line_rendered text
);
CREATE INDEX idx_tasks_organisation ON public.tasks USING btree (organisation_id);
CREATE INDEX idx_tasks_restaurant ON public.tasks USING btree (restaurant_id);
CREATE INDEX idx_tasks_status ON public.tasks USING btree (status);
CREATE INDEX idx_tasks_restaurant_active ON public.tasks USING btree (restaurant_id, due_date, created_at)
  WHERE status <> ALL (ARRAY['completed'::text, 'cancelled'::text]);
CREATE TRIGGER update_tasks_updated_at BEFORE UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- RLS helpers of the application
CREATE FUNCTION public.has_org_access(org_id uuid) RETURNS boolean AS $fn$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM profiles
    WHERE profiles.id = auth.uid()
      AND (profiles.role = 'super_admin' OR profiles.organisation_id = org_id)
  );
END;
$fn$ LANGUAGE plpgsql SECURITY DEFINER;

CREATE FUNCTION public.user_can_access_org_data(user_id uuid, org_id uuid) RETURNS boolean AS $fn$
DECLARE
  user_role text;
  org_status text;
BEGIN
  SELECT p.role, o.status INTO user_role, org_status
  FROM profiles p LEFT JOIN organisations o ON o.id = p.organisation_id
  WHERE p.id = user_id AND p.organisation_id = org_id;
  IF user_role = 'super_admin' THEN
    RETURN TRUE;
  END IF;
  RETURN org_status = 'active';
END;
$fn$ LANGUAGE plpgsql STABLE SECURITY DEFINER;

-- RLS policies of the application
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY "org_select_member" ON organisations FOR SELECT USING (
  id IN (SELECT organisation_id FROM profiles WHERE id = auth.uid())
  OR EXISTS (SELECT 1 FROM profiles WHERE id = auth.uid() AND role = 'super_admin')
);

ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "profiles_authenticated_view_all" ON profiles FOR SELECT
  USING (auth.uid() IS NOT NULL);
CREATE POLICY "profiles_own_update" ON profiles FOR UPDATE USING (auth.uid() = id);

ALTER TABLE restaurants ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Enable read access for org members" ON restaurants FOR SELECT
  USING (user_can_access_org_data(auth.uid(), organisation_id));
CREATE POLICY "Enable insert for org members" ON restaurants FOR INSERT
  WITH CHECK (user_can_access_org_data(auth.uid(), organisation_id));
CREATE POLICY "Enable update for org members" ON restaurants FOR UPDATE
  USING (user_can_access_org_data(auth.uid(), organisation_id));
CREATE POLICY "Enable delete for org admins" ON restaurants FOR DELETE USING (
  EXISTS (
    SELECT 1 FROM profiles p JOIN organisations o ON o.id = p.organisation_id
    WHERE p.id = auth.uid() AND p.organisation_id = restaurants.organisation_id
      AND p.role IN ('admin', 'super_admin') AND (o.status = 'active' OR p.role = 'super_admin')
  )
);

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_org_policy ON public.tasks FOR ALL
  USING (organisation_id IN (SELECT organisation_id FROM public.profiles WHERE id = auth.uid()));

ALTER TABLE task_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_templates_org_policy ON public.task_templates FOR ALL
  USING (organisation_id IN (SELECT organisation_id FROM public.profiles WHERE id = auth.uid()));

ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY message_templates_org_policy ON public.message_templates FOR ALL
  USING (organisation_id IN (SELECT organisation_id FROM public.profiles WHERE id = auth.uid()));
