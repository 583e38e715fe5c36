-- How an upstream site family (eastmoney, sina, ...) behind one AKTools host is doing, shared by every instance
-- because they all call the same host and a ban is on that host: the transient failures in a row (and whether
-- more than one caller made them), a pause with its end and reason, the one probe call allowed after a pause,
-- and the share of the family's configured rate it runs at while it climbs back after a pause.
CREATE TABLE IF NOT EXISTS site_family_states (
  host VARCHAR(255) NOT NULL,
  family VARCHAR(32) NOT NULL,
  failures_in_row INT NOT NULL DEFAULT 0,
  streak_caller VARCHAR(64) NULL,
  streak_mixed TINYINT(1) NOT NULL DEFAULT 0,
  paused_at DATETIME(6) NULL,
  paused_until DATETIME(6) NULL,
  pause_reason VARCHAR(500) NULL,
  cooldown_seconds INT NOT NULL DEFAULT 0,
  probe_caller VARCHAR(64) NULL,
  probe_until DATETIME(6) NULL,
  rate_factor DOUBLE NOT NULL DEFAULT 1,
  pauses INT NOT NULL DEFAULT 0,
  last_failure_at DATETIME(6) NULL,
  last_success_at DATETIME(6) NULL,
  PRIMARY KEY (host, family)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
