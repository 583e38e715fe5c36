-- Tasks the service creates by itself, once per database (the weekly trading-calendar task): a row here says it
-- was done, so a task its owner deleted is not created again at the next start. The name is claimed before the
-- task is made, so two instances starting together make it once.
CREATE TABLE IF NOT EXISTS starter_tasks (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  task_id BIGINT NULL,
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
