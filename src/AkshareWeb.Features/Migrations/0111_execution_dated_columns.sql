-- A run's rule for column names that carry a date (data-scripts' dated_columns), fixed with the rest of its plan.
ALTER TABLE executions ADD COLUMN dated_columns JSON NULL AFTER extra_columns;
