-- A valid cron expression can be longer than 100 characters (a 60-item minute list alone is 169): the column
-- holds 1000, the length the task validator allows, so a valid schedule is never a database error.
ALTER TABLE scheduled_tasks MODIFY schedule_expression VARCHAR(1000) NOT NULL;
