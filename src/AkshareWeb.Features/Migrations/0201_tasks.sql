-- Scheduled tasks: a data script, its parameters and when to run it. Each active task is one Hangfire job
-- (recurring for cron and interval, scheduled for once) in the same database.
CREATE TABLE IF NOT EXISTS scheduled_tasks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  description TEXT NULL,
  script_id VARCHAR(64) NOT NULL,
  schedule_type VARCHAR(16) NOT NULL,
  schedule_expression VARCHAR(100) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  parameters JSON NOT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  retry_on_failure TINYINT(1) NOT NULL DEFAULT 0,
  max_retries INT NOT NULL DEFAULT 0,
  timeout_seconds INT NULL,
  owner_id BIGINT NULL,
  -- Interval tasks: the due time the next tick fires at; advanced atomically, so one fire per due time.
  next_due_at DATETIME(6) NULL,
  -- The Hangfire job of a once task, deleted when the task is paused, changed or deleted.
  once_job_id VARCHAR(64) NULL,
  last_execution_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY ix_scheduled_tasks_owner (owner_id),
  KEY ix_scheduled_tasks_active (is_active)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
