-- Days on which a key of a warehouse table is known to have no row although the calendar expects one: the upstream
-- was asked for exactly that range and answered nothing (a suspended stock, 停牌). Coverage counts them apart from
-- missing days. key_values names the key as coverage shows it ({"股票代码": "000001", "period": "daily"}, the key
-- columns but the date); key_hash is the first 16 bytes of its SHA-256 (Warehouse/ConfirmedEmptyDays), so all of
-- one key's marks are one range of the primary key. A stored row on a marked day outweighs the mark.
CREATE TABLE IF NOT EXISTS confirmed_empty_days (
  table_name VARCHAR(64) NOT NULL,
  key_hash BINARY(16) NOT NULL,
  trade_date DATE NOT NULL,
  key_values JSON NOT NULL,
  execution_id VARCHAR(40) NULL,
  confirmed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (table_name, key_hash, trade_date),
  KEY ix_confirmed_empty_days_date (table_name, trade_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
