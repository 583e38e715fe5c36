-- The instances that run executions, each beaten by its watchdog: a run of another instance with a stale
-- heartbeat is taken for dead only once its instance has been silent too for Executions:InstanceTimeoutSeconds,
-- so an instance cut off from the database for a while keeps its runs. A cleanly stopped instance removes its row.
CREATE TABLE IF NOT EXISTS execution_instances (
  worker VARCHAR(160) NOT NULL PRIMARY KEY,
  started_at DATETIME(6) NOT NULL,
  heartbeat_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
