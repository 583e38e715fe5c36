-- A part's written rows split as a single run's are: new ones and changed ones, so a parted run's totals are their sums.
ALTER TABLE execution_parts ADD COLUMN rows_inserted BIGINT NULL AFTER rows_written, ADD COLUMN rows_updated BIGINT NULL AFTER rows_inserted;
