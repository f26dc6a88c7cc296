DROP INDEX tasks_by_lead;
ALTER TABLE tasks DROP COLUMN lead_id;
DROP TABLE lead_assignments;
DROP TABLE lead_rotation_members;
DROP TABLE lead_rotations;
DROP TABLE lead_assignment_settings;
