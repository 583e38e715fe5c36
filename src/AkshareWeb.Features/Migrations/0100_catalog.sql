-- The interface catalogue: AKShare's registry (interfaces.json) merged with the interfaces data scripts use.
CREATE TABLE IF NOT EXISTS interfaces (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  display_name VARCHAR(300) NOT NULL,
  category VARCHAR(64) NOT NULL,
  description TEXT NULL,
  module VARCHAR(200) NULL,
  url VARCHAR(1000) NULL,
  limit_desc TEXT NULL,
  documented TINYINT(1) NOT NULL DEFAULT 0,
  example TEXT NULL,
  outputs JSON NULL,
  in_registry TINYINT(1) NOT NULL DEFAULT 0,
  used_by_scripts TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY ux_interfaces_name (name),
  KEY ix_interfaces_category (category)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS interface_parameters (
  interface_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  position INT NOT NULL,
  type VARCHAR(16) NOT NULL,
  required TINYINT(1) NOT NULL DEFAULT 0,
  default_value VARCHAR(500) NULL,
  format VARCHAR(32) NULL,
  allowed JSON NULL,
  description TEXT NULL,
  PRIMARY KEY (interface_id, name),
  CONSTRAINT fk_interface_parameters_interface FOREIGN KEY (interface_id) REFERENCES interfaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Data scripts as registered from data-scripts/; the validated definition is kept whole.
CREATE TABLE IF NOT EXISTS data_scripts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  script_id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  description TEXT NULL,
  category VARCHAR(32) NOT NULL,
  frequency VARCHAR(32) NOT NULL,
  interface_name VARCHAR(128) NOT NULL,
  target_table VARCHAR(64) NOT NULL,
  definition JSON NOT NULL,
  file_path VARCHAR(500) NOT NULL,
  content_hash CHAR(64) NOT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  -- Set when the file disappeared; an admin's toggle does not touch it, a file that comes back clears it.
  file_missing TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY ux_data_scripts_script_id (script_id),
  KEY ix_data_scripts_category (category, is_active)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
