-- A sequence template, an instance and its tasks as the web app's sequence services make
-- them (no seqctl metadata on anything).
INSERT INTO sequence_templates (id, organisation_id, created_by, name, description, tags) VALUES
  ('a0000000-0000-4000-8000-0000000000f1', 'a0000000-0000-4000-8000-00000000000a',
   'a0000000-0000-4000-8000-0000000000a1', 'Web Demo Flow', 'Made in the web app', ARRAY['demo']);
INSERT INTO sequence_steps (id, sequence_template_id, step_order, name, type, priority,
  task_template_id, message_template_id, custom_message, subject_line, delay_value, delay_unit) VALUES
  ('a0000000-0000-4000-8000-0000000001f1', 'a0000000-0000-4000-8000-0000000000f1', 1, 'Intro call', 'call',
   'high', 'a0000000-0000-4000-8000-0000000000e2', NULL, NULL, NULL, 0, 'days'),
  ('a0000000-0000-4000-8000-0000000002f1', 'a0000000-0000-4000-8000-0000000000f1', 2, 'Follow-up email', 'email',
   'medium', NULL, 'a0000000-0000-4000-8000-0000000000d1', NULL, 'Following up, {restaurant_name}', 2, 'hours'),
  ('a0000000-0000-4000-8000-0000000003f1', 'a0000000-0000-4000-8000-0000000000f1', 3, 'Demo meeting', 'demo_meeting',
   'high', 'a0000000-0000-4000-8000-0000000000e1', NULL, 'See you at the demo', NULL, 1, 'days');
INSERT INTO sequence_instances (id, sequence_template_id, restaurant_id, organisation_id, name,
  status, current_step_order, total_steps, assigned_to, created_by, started_at) VALUES
  ('a0000000-0000-4000-8000-0000000000b9', 'a0000000-0000-4000-8000-0000000000f1',
   'a0000000-0000-4000-8000-0000000000c1', 'a0000000-0000-4000-8000-00000000000a',
   'Web Demo Flow - Burger Barn - 2026-03-02', 'active', 1, 3,
   'a0000000-0000-4000-8000-0000000000a1', 'a0000000-0000-4000-8000-0000000000a1', '2026-03-02 09:00+00');
INSERT INTO tasks (id, organisation_id, restaurant_id, task_template_id, message_template_id,
  assigned_to, created_by, name, status, type, priority, message, message_rendered, due_date,
  subject_line, subject_line_rendered, sequence_instance_id, sequence_step_order) VALUES
  ('a0000000-0000-4000-8000-0000000001aa', 'a0000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-0000000000c1',
   'a0000000-0000-4000-8000-0000000000e2', NULL, 'a0000000-0000-4000-8000-0000000000a1', 'a0000000-0000-4000-8000-0000000000a1',
   'Intro call', 'active', 'call', 'high', 'Call {contact_name} at {restaurant_name}', 'Call Sam Smith at Burger Barn',
   '2026-03-02 09:00+00', NULL, NULL, 'a0000000-0000-4000-8000-0000000000b9', 1),
  ('a0000000-0000-4000-8000-0000000002aa', 'a0000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-0000000000c1',
   NULL, 'a0000000-0000-4000-8000-0000000000d1', 'a0000000-0000-4000-8000-0000000000a1', 'a0000000-0000-4000-8000-0000000000a1',
   'Follow-up email', 'pending', 'email', 'medium', 'Hi {contact_name}, thanks', 'Hi Sam Smith, thanks',
   NULL, 'Following up, {restaurant_name}', 'Following up, Burger Barn', 'a0000000-0000-4000-8000-0000000000b9', 2),
  ('a0000000-0000-4000-8000-0000000003aa', 'a0000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-0000000000c1',
   'a0000000-0000-4000-8000-0000000000e1', NULL, 'a0000000-0000-4000-8000-0000000000a1', 'a0000000-0000-4000-8000-0000000000a1',
   'Demo meeting', 'pending', 'demo_meeting', 'high', 'See you at the demo', 'See you at the demo',
   NULL, NULL, NULL, 'a0000000-0000-4000-8000-0000000000b9', 3);
