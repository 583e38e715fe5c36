-- Health findings of warehouse tables (Tables/Health): a price missing, not positive or outside the day's range, a
-- close-to-close move beyond the limit, zero volume on a trading day, a date in the future or off the calendar.
-- One row per key, day, rule and column; key_values names the key as coverage does (the key columns but the date),
-- key_hash is the first 16 bytes of its SHA-256, so a key's findings are one range of the index. A check replaces
-- the findings of what it looked at: the rows a run touched, a requested range, or the whole table.
CREATE TABLE IF NOT EXISTS table_health_findings (
  id BIGINT NOT NULL AUTO_INCREMENT,
  table_name VARCHAR(64) NOT NULL,
  key_hash BINARY(16) NOT NULL,
  key_values JSON NOT NULL,
  day DATETIME NOT NULL,
  rule VARCHAR(32) NOT NULL,
  column_name VARCHAR(64) NULL,
  value VARCHAR(64) NULL,
  compared_with VARCHAR(64) NULL,
  found_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_table_health_findings_key (table_name, key_hash, day),
  KEY ix_table_health_findings_day (table_name, day),
  KEY ix_table_health_findings_rule (table_name, rule)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- When each table was last checked whole, and for which of its states (warehouse_tables.last_updated_at) and market
-- day: findings are current while both are unchanged, and a run's check of its own rows keeps them so.
CREATE TABLE IF NOT EXISTS table_health_checks (
  table_name VARCHAR(64) NOT NULL,
  checked_at DATETIME(6) NOT NULL,
  table_updated_at DATETIME(6) NULL,
  market_day DATE NOT NULL,
  PRIMARY KEY (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
