-- One category naming for scripts and registry: the API's plural names for AKShare's stock, fund, index, option
-- and bond; every other category keeps AKShare's own name.
UPDATE interfaces SET category = CASE category
  WHEN 'stock' THEN 'stocks' WHEN 'fund' THEN 'funds' WHEN 'index' THEN 'indexes' WHEN 'option' THEN 'options' WHEN 'bond' THEN 'bonds' END
WHERE category IN ('stock', 'fund', 'index', 'option', 'bond');
UPDATE warehouse_tables SET category = CASE category
  WHEN 'stock' THEN 'stocks' WHEN 'fund' THEN 'funds' WHEN 'index' THEN 'indexes' WHEN 'option' THEN 'options' WHEN 'bond' THEN 'bonds' END
WHERE category IN ('stock', 'fund', 'index', 'option', 'bond');
UPDATE executions SET category = CASE category
  WHEN 'stock' THEN 'stocks' WHEN 'fund' THEN 'funds' WHEN 'index' THEN 'indexes' WHEN 'option' THEN 'options' WHEN 'bond' THEN 'bonds' END
WHERE category IN ('stock', 'fund', 'index', 'option', 'bond');

-- registry_params: the parameter names the registry lists for the function (NULL when it lists none), kept apart
-- from interface_parameters, which a data script's definitions override. dropped_by: which registry stopped
-- listing an interface that a data script still uses (NULL while it is listed).
ALTER TABLE interfaces
  ADD COLUMN registry_params JSON NULL,
  ADD COLUMN dropped_by VARCHAR(100) NULL,
  ADD KEY ix_interfaces_category_name (category, name);

-- Why a script cannot run with the catalogue as it is now (its interface or a parameter gone); NULL when it can.
ALTER TABLE data_scripts ADD COLUMN broken_reason VARCHAR(500) NULL;
