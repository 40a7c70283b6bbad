-- The application's own sequence system, written from its documented definitions
-- (database-schemas/sequence_templates.sql, sequence_steps.sql, sequence_instances.sql,
-- tasks.sql's sequence columns, the sequence-system RLS policies, and the 20251122
-- subject_line/demo_meeting change already applied). No seqctl involved: in particular
-- no delete-instance trigger on tasks.

CREATE TABLE public.sequence_templates (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4(),
  organisation_id uuid NOT NULL,
  created_by uuid,
  name text NOT NULL,
  description text,
  tags text[] DEFAULT ARRAY[]::text[],
  is_active boolean NOT NULL DEFAULT true,
  usage_count integer NOT NULL DEFAULT 0,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sequence_templates_pkey PRIMARY KEY (id),
  CONSTRAINT sequence_templates_created_by_fkey FOREIGN KEY (created_by) REFERENCES auth.users (id) ON DELETE SET NULL,
  CONSTRAINT sequence_templates_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  CONSTRAINT sequence_templates_description_check CHECK (length(description) <= 1000),
  CONSTRAINT sequence_templates_name_check CHECK (length(name) >= 3 AND length(name) <= 100)
);
CREATE INDEX IF NOT EXISTS idx_sequence_templates_org ON public.sequence_templates USING btree (organisation_id);
CREATE INDEX IF NOT EXISTS idx_sequence_templates_active ON public.sequence_templates USING btree (is_active) WHERE (is_active = true);
CREATE INDEX IF NOT EXISTS idx_sequence_templates_tags ON public.sequence_templates USING gin (tags);
CREATE TRIGGER update_sequence_templates_updated_at BEFORE UPDATE ON sequence_templates
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.sequence_steps (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4(),
  sequence_template_id uuid NOT NULL,
  step_order integer NOT NULL,
  name text NOT NULL,
  description text,
  task_template_id uuid,
  type text NOT NULL,
  priority text NOT NULL DEFAULT 'medium'::text,
  message_template_id uuid,
  custom_message text,
  delay_value integer NOT NULL DEFAULT 0,
  delay_unit text NOT NULL DEFAULT 'days'::text,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  subject_line text,
  CONSTRAINT sequence_steps_pkey PRIMARY KEY (id),
  CONSTRAINT sequence_steps_unique_order UNIQUE (sequence_template_id, step_order),
  CONSTRAINT sequence_steps_sequence_template_id_fkey FOREIGN KEY (sequence_template_id) REFERENCES sequence_templates (id) ON DELETE CASCADE,
  CONSTRAINT sequence_steps_task_template_id_fkey FOREIGN KEY (task_template_id) REFERENCES task_templates (id) ON DELETE SET NULL,
  CONSTRAINT sequence_steps_message_template_id_fkey FOREIGN KEY (message_template_id) REFERENCES message_templates (id) ON DELETE SET NULL,
  CONSTRAINT sequence_steps_step_order_check CHECK (step_order > 0),
  CONSTRAINT sequence_steps_type_check CHECK (type = ANY (ARRAY['internal_activity'::text,
    'social_message'::text, 'text'::text, 'email'::text, 'call'::text, 'demo_meeting'::text])),
  CONSTRAINT sequence_steps_priority_check CHECK (priority = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text])),
  CONSTRAINT sequence_steps_delay_value_check CHECK (delay_value >= 0),
  CONSTRAINT sequence_steps_description_check CHECK (length(description) <= 500),
  CONSTRAINT sequence_steps_name_check CHECK (length(name) >= 3 AND length(name) <= 100),
  CONSTRAINT sequence_steps_delay_unit_check CHECK (delay_unit = ANY (ARRAY['minutes'::text, 'hours'::text, 'days'::text]))
);
CREATE INDEX IF NOT EXISTS idx_sequence_steps_template ON public.sequence_steps USING btree (sequence_template_id);
CREATE INDEX IF NOT EXISTS idx_sequence_steps_template_order ON public.sequence_steps USING btree (sequence_template_id, step_order);
CREATE INDEX IF NOT EXISTS idx_sequence_steps_task_template ON public.sequence_steps USING btree (task_template_id) WHERE (task_template_id IS NOT NULL);
CREATE TRIGGER update_sequence_steps_updated_at BEFORE UPDATE ON sequence_steps
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE public.sequence_instances (
  id uuid NOT NULL DEFAULT extensions.uuid_generate_v4(),
  sequence_template_id uuid NOT NULL,
  restaurant_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  name text NOT NULL,
  status text NOT NULL DEFAULT 'active'::text,
  current_step_order integer DEFAULT 1,
  total_steps integer NOT NULL,
  assigned_to uuid,
  created_by uuid,
  started_at timestamptz NOT NULL DEFAULT now(),
  paused_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sequence_instances_pkey PRIMARY KEY (id),
  CONSTRAINT sequence_instances_restaurant_id_fkey FOREIGN KEY (restaurant_id) REFERENCES restaurants (id) ON DELETE CASCADE,
  CONSTRAINT sequence_instances_sequence_template_id_fkey FOREIGN KEY (sequence_template_id) REFERENCES sequence_templates (id) ON DELETE CASCADE,
  CONSTRAINT sequence_instances_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  CONSTRAINT sequence_instances_assigned_to_fkey FOREIGN KEY (assigned_to) REFERENCES auth.users (id) ON DELETE SET NULL,
  CONSTRAINT sequence_instances_created_by_fkey FOREIGN KEY (created_by) REFERENCES auth.users (id) ON DELETE SET NULL,
  CONSTRAINT sequence_instances_total_steps_check CHECK (total_steps > 0),
  CONSTRAINT sequence_instances_cancelled_check CHECK ((status = 'cancelled' AND cancelled_at IS NOT NULL) OR (status <> 'cancelled' AND cancelled_at IS NULL)),
  CONSTRAINT sequence_instances_completed_check CHECK ((status = 'completed' AND completed_at IS NOT NULL) OR (status <> 'completed' AND completed_at IS NULL)),
  CONSTRAINT sequence_instances_paused_check CHECK ((status = 'paused' AND paused_at IS NOT NULL) OR (status <> 'paused' AND paused_at IS NULL)),
  CONSTRAINT sequence_instances_status_check CHECK (status = ANY (ARRAY['active'::text, 'paused'::text, 'completed'::text, 'cancelled'::text]))
);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_template ON public.sequence_instances USING btree (sequence_template_id);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_restaurant ON public.sequence_instances USING btree (restaurant_id);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_org ON public.sequence_instances USING btree (organisation_id);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_status ON public.sequence_instances USING btree (status);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_assigned ON public.sequence_instances USING btree (assigned_to) WHERE (assigned_to IS NOT NULL);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_restaurant_status ON public.sequence_instances USING btree (restaurant_id, status);
CREATE INDEX IF NOT EXISTS idx_sequence_instances_org_status ON public.sequence_instances USING btree (organisation_id, status);
CREATE TRIGGER update_sequence_instances_updated_at BEFORE UPDATE ON sequence_instances
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE public.tasks
  ADD COLUMN sequence_instance_id uuid,
  ADD COLUMN sequence_step_order integer,
  ADD CONSTRAINT tasks_sequence_instance_id_fkey FOREIGN KEY (sequence_instance_id) REFERENCES sequence_instances (id) ON DELETE SET NULL,
  ADD CONSTRAINT tasks_sequence_step_order_check CHECK (sequence_step_order IS NULL OR sequence_step_order > 0),
  ADD CONSTRAINT tasks_sequence_consistency_check CHECK (
    (sequence_instance_id IS NULL AND sequence_step_order IS NULL)
    OR (sequence_instance_id IS NOT NULL AND sequence_step_order IS NOT NULL));
CREATE INDEX IF NOT EXISTS idx_tasks_sequence_status ON public.tasks USING btree (sequence_instance_id, status) WHERE (sequence_instance_id IS NOT NULL);
CREATE INDEX IF NOT EXISTS idx_tasks_sequence_instance ON public.tasks USING btree (sequence_instance_id) WHERE (sequence_instance_id IS NOT NULL);
CREATE INDEX IF NOT EXISTS idx_tasks_sequence_instance_order ON public.tasks USING btree (sequence_instance_id, sequence_step_order) WHERE (sequence_instance_id IS NOT NULL);

-- the sequence system's RLS policies (planning/.../sequence-system/database-schema.md)
ALTER TABLE sequence_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY sequence_templates_org_policy ON sequence_templates FOR ALL
  USING (organisation_id IN (SELECT organisation_id FROM profiles WHERE id = auth.uid()));
CREATE POLICY sequence_templates_insert_policy ON sequence_templates FOR INSERT
  WITH CHECK (organisation_id IN (SELECT organisation_id FROM profiles WHERE id = auth.uid()));
ALTER TABLE sequence_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY sequence_steps_org_policy ON sequence_steps FOR ALL
  USING (sequence_template_id IN (SELECT id FROM sequence_templates WHERE organisation_id IN
    (SELECT organisation_id FROM profiles WHERE id = auth.uid())));
CREATE POLICY sequence_steps_insert_policy ON sequence_steps FOR INSERT
  WITH CHECK (sequence_template_id IN (SELECT id FROM sequence_templates WHERE organisation_id IN
    (SELECT organisation_id FROM profiles WHERE id = auth.uid())));
ALTER TABLE sequence_instances ENABLE ROW LEVEL SECURITY;
CREATE POLICY sequence_instances_org_policy ON sequence_instances FOR ALL
  USING (organisation_id IN (SELECT organisation_id FROM profiles WHERE id = auth.uid()));
CREATE POLICY sequence_instances_insert_policy ON sequence_instances FOR INSERT
  WITH CHECK (organisation_id IN (SELECT organisation_id FROM profiles WHERE id = auth.uid()));
