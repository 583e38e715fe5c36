-- Each AKTools call of a parted run, every try included, when it was made (the database's clock): the run's
-- effective call rate is the calls of the last minute, whichever instances made them. A participant's heartbeat
-- drops the run's calls older than a minute and the run's end drops the rest, so the table stays small.
CREATE TABLE IF NOT EXISTS execution_calls (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  execution_id VARCHAR(40) NOT NULL,
  called_at DATETIME(6) NOT NULL,
  KEY ix_execution_calls_at (execution_id, called_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
