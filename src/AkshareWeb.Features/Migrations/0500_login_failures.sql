-- Failed logins, kept in the database so that every instance counts them together and an attempt is counted
-- before its password is checked (under the row lock of its account's counter, so concurrent guesses cannot all
-- pass the limit). Keys are SHA-256 of the account key and of the account-and-address pair; a pair key is
-- cleared (NULL) when that pair logs in, while the failure still counts for the account's brake.
CREATE TABLE IF NOT EXISTS login_counters (
  account_key BINARY(32) NOT NULL PRIMARY KEY,
  touched_at DATETIME(6) NOT NULL,
  KEY ix_login_counters_touched (touched_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS login_failures (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_key BINARY(32) NOT NULL,
  pair_key BINARY(32) NULL,
  failed_at DATETIME(6) NOT NULL,
  KEY ix_login_failures_account (account_key, failed_at),
  KEY ix_login_failures_pair (pair_key, failed_at),
  KEY ix_login_failures_at (failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
