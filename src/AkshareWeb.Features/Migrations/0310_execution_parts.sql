-- A run over parameter sources (a list of symbols, a table's column, since_last dates) is one execution made of
-- parts. The parts are rows, so any instance can take the next one (claimed under the execution's row lock), a
-- restart continues the ones not done, and a retry copies only the failed ones.
ALTER TABLE executions
  ADD COLUMN parameter_sources JSON NULL AFTER parameters,
  ADD COLUMN concurrency INT NULL AFTER parameter_sources,
  ADD COLUMN parts_total INT NULL,
  ADD COLUMN parts_done INT NULL,
  ADD COLUMN parts_failed INT NULL;

CREATE TABLE IF NOT EXISTS execution_parts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  execution_id VARCHAR(40) NOT NULL,
  part_no INT NOT NULL,
  -- the values this part varies (the run's other parameters are the execution's), resolved dates included once it started
  parameters JSON NOT NULL,
  status VARCHAR(16) NOT NULL,
  tries INT NOT NULL DEFAULT 0,
  rows_fetched BIGINT NULL,
  rows_written BIGINT NULL,
  error_message TEXT NULL,
  worker VARCHAR(160) NULL,
  start_time DATETIME(6) NULL,
  end_time DATETIME(6) NULL,
  heartbeat_at DATETIME(6) NULL,
  UNIQUE KEY ux_execution_parts_no (execution_id, part_no),
  KEY ix_execution_parts_status (execution_id, status, id),
  KEY ix_execution_parts_heartbeat (status, heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Politeness toward an upstream site family (eastmoney, sina, ...): the next moment a call may start, shared by
-- every run and instance; each call reserves its moment and pushes the next one an interval further.
CREATE TABLE IF NOT EXISTS source_rate_slots (
  family VARCHAR(32) NOT NULL PRIMARY KEY,
  next_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Parts a task's run takes at once (within max_concurrent_tasks); null means the default, 4.
ALTER TABLE scheduled_tasks ADD COLUMN concurrency INT NULL AFTER timeout_seconds;

-- The instances taking part in a parted run, each seen every second: the run's concurrency is shared out
-- among them, so a second instance gets its share of the parts instead of waiting for a free moment.
CREATE TABLE IF NOT EXISTS execution_participants (
  execution_id VARCHAR(40) NOT NULL,
  worker VARCHAR(160) NOT NULL,
  seen_at DATETIME(6) NOT NULL,
  PRIMARY KEY (execution_id, worker)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
