-- A running import notes the time after every batch it writes, so an import whose process
-- stopped (a restart, a crash) can be told apart from one that is still working.
ALTER TABLE import_jobs ADD COLUMN heartbeat_at TIMESTAMP;
UPDATE import_jobs SET heartbeat_at = created_at WHERE status = 'running';
