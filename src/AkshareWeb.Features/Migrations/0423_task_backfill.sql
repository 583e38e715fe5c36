-- A task that fills the gaps of its own range after each run (issue 24, "backfill": true), and the link of the backfill
-- run to the run whose range it fills (executions.backfill_of; triggered_by 'backfill'). A retry of a backfill run
-- copies the link with the rest of its plan, so it never starts a backfill of its own either.
ALTER TABLE scheduled_tasks ADD COLUMN backfill TINYINT(1) NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN backfill_of VARCHAR(40) NULL AFTER retry_of;
