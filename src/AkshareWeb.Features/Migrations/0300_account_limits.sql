-- Registration by approval: an account created while Auth:Registration is "approval" waits, inactive, until an
-- admin activates it; the flag lets login tell "awaiting approval" from "deactivated".
ALTER TABLE users ADD COLUMN awaiting_approval TINYINT(1) NOT NULL DEFAULT 0;

-- Why a task stopped firing when the service (not its owner) paused it: owner deactivated or deleted.
ALTER TABLE scheduled_tasks ADD COLUMN paused_reason VARCHAR(200) NULL;

-- Script tests in flight, so they count against a user's running ad-hoc work on every instance. A row left by a
-- crashed instance stops counting once it is older than the longest test can take.
CREATE TABLE IF NOT EXISTS script_test_runs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  started_at DATETIME(6) NOT NULL,
  KEY ix_script_test_runs_user (user_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
