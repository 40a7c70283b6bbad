-- Organisations, users, restaurants and templates as the web app makes them (by SQL).
INSERT INTO auth.users (id, email, role, aud) VALUES
  ('a0000000-0000-4000-8000-0000000000a1', 'rep@pumpd.example', 'authenticated', 'authenticated'),
  ('a0000000-0000-4000-8000-0000000000a2', 'jo@pumpd.example', 'authenticated', 'authenticated'),
  ('b0000000-0000-4000-8000-0000000000b1', 'rival@rival.example', 'authenticated', 'authenticated');
INSERT INTO organisations (id, name) VALUES
  ('a0000000-0000-4000-8000-00000000000a', 'Pumpd Sales'),
  ('b0000000-0000-4000-8000-00000000000b', 'Rival Co');
INSERT INTO profiles (id, email, name, role, organisation_id) VALUES
  ('a0000000-0000-4000-8000-0000000000a1', 'rep@pumpd.example', 'Riley Rep', 'admin', 'a0000000-0000-4000-8000-00000000000a'),
  ('a0000000-0000-4000-8000-0000000000a2', 'jo@pumpd.example', 'Jo Bloggs', 'user', 'a0000000-0000-4000-8000-00000000000a'),
  ('b0000000-0000-4000-8000-0000000000b1', 'rival@rival.example', 'Rex Rival', 'admin', 'b0000000-0000-4000-8000-00000000000b');
INSERT INTO restaurants (id, organisation_id, name, email, city, cuisine, contact_name,
  contact_email, organisation_name, assigned_sales_rep, lead_stage, lead_warmth, icp_rating,
  weekly_uber_sales_volume, uber_aov, painpoints, demo_store_built, subdomain) VALUES
  ('a0000000-0000-4000-8000-0000000000c1', 'a0000000-0000-4000-8000-00000000000a', 'Burger Barn',
   'hi@burgerbarn.example', 'Auckland', ARRAY['Burgers', 'American'], 'Sam Smith',
   'sam@burgerbarn.example', 'Barn Group Ltd', 'a0000000-0000-4000-8000-0000000000a1',
   'demo_booked', 'hot', 8, 1500, 32.5, '["high commission", "no data"]', true, 'burgerbarn'),
  ('a0000000-0000-4000-8000-0000000000c2', 'a0000000-0000-4000-8000-00000000000a', 'Noodle Nook',
   NULL, 'Wellington', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '[]', false, NULL),
  ('b0000000-0000-4000-8000-0000000000c3', 'b0000000-0000-4000-8000-00000000000b', 'Rival Diner',
   NULL, 'Auckland', ARRAY['Diner'], 'Rae', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '[]', false, NULL);
INSERT INTO message_templates (id, organisation_id, name, type, message_content, subject_line, is_active) VALUES
  ('a0000000-0000-4000-8000-0000000000d1', 'a0000000-0000-4000-8000-00000000000a', 'Demo follow-up', 'email',
   'Hi {contact_name}, thanks for booking a demo for {restaurant_name} in {city}.', 'Your demo, {restaurant_name}', true),
  ('a0000000-0000-4000-8000-0000000000d2', 'a0000000-0000-4000-8000-00000000000a', 'Demo follow-up', 'email',
   'OLD TEXT {restaurant_name}', 'Old subject', false),
  ('a0000000-0000-4000-8000-0000000000d3', 'a0000000-0000-4000-8000-00000000000a', 'Intro DM', 'social_message',
   'Hey {restaurant_name}! Loved your {cuisine} menu.', NULL, true),
  ('b0000000-0000-4000-8000-0000000000d4', 'b0000000-0000-4000-8000-00000000000b', 'Rival secret', 'email',
   'RIVAL ONLY', NULL, true);
INSERT INTO task_templates (id, organisation_id, name, type, priority, default_message, subject_line) VALUES
  ('a0000000-0000-4000-8000-0000000000e1', 'a0000000-0000-4000-8000-00000000000a', 'Book demo', 'demo_meeting',
   'high', 'Demo with {restaurant_name}', 'Demo: {restaurant_name}'),
  ('a0000000-0000-4000-8000-0000000000e2', 'a0000000-0000-4000-8000-00000000000a', 'Intro call', 'call',
   'medium', 'Call {contact_name} at {restaurant_name}', NULL);
INSERT INTO tasks (id, organisation_id, restaurant_id, name, status, type, priority) VALUES
  ('a0000000-0000-4000-8000-0000000004aa', 'a0000000-0000-4000-8000-00000000000a',
   'a0000000-0000-4000-8000-0000000000c2', 'Standalone web task', 'pending', 'internal_activity', 'low');
