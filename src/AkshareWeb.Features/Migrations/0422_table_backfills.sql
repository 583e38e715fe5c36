-- Backfills of a table (POST /api/tables/{table}/backfill) whose confirmed-empty marks are still to be written. parts
-- lists, in the run's part order, what each part asked: the key as coverage names it (key_values of
-- confirmed_empty_days) and the range. Once the run has ended, the days of each completed part's range that are still
-- missing were answered with no row and are marked confirmed empty (Tables/BackfillMarks); marked_at says it is done.
CREATE TABLE IF NOT EXISTS table_backfills (
  execution_id VARCHAR(40) NOT NULL PRIMARY KEY,
  table_name VARCHAR(64) NOT NULL,
  parts JSON NOT NULL,
  created_at DATETIME(6) NOT NULL,
  marked_at DATETIME(6) NULL,
  KEY ix_table_backfills_open (table_name, marked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
