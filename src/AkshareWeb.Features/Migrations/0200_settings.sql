-- Settings an admin changes at run time; every instance reads them from here, so a change applies everywhere.
CREATE TABLE IF NOT EXISTS app_settings (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  updated_by BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ASP.NET Data Protection keys, shared by the instances so a secret encrypted by one is readable by all.
CREATE TABLE IF NOT EXISTS data_protection_keys (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  friendly_name VARCHAR(200) NOT NULL,
  xml MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY ux_data_protection_keys_name (friendly_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
