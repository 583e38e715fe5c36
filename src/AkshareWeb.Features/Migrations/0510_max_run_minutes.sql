-- A parted run's overall time limit (issue 29): the task's own, in minutes (NULL: the default_max_run_minutes setting,
-- 0: none), and the run's deadline, fixed from its start so every instance taking part agrees on it.
ALTER TABLE scheduled_tasks ADD COLUMN max_run_minutes INT NULL AFTER timeout_seconds;
ALTER TABLE executions ADD COLUMN deadline_at DATETIME(6) NULL AFTER heartbeat_at;
