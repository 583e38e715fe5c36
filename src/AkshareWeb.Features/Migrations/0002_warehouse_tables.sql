-- The ak_* tables AkshareWeb manages in the warehouse database, and what fills them. Only tables listed here
-- are served by /api/tables; the collection engine registers a table when it first creates it.
CREATE TABLE IF NOT EXISTS warehouse_tables (
  table_name VARCHAR(64) NOT NULL PRIMARY KEY,
  display_name VARCHAR(200) NOT NULL,
  category VARCHAR(32) NULL,
  script_id VARCHAR(64) NULL,
  interface_name VARCHAR(128) NULL,
  write_mode VARCHAR(16) NULL,
  key_columns JSON NULL,
  created_at DATETIME(6) NOT NULL,
  last_updated_at DATETIME(6) NULL,
  KEY ix_warehouse_tables_category (category)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
