-- Schema version 1. `{prefix}` is replaced with the validated table prefix before execution.
-- Every table has a primary key (sql_require_primary_key, Group Replication), every timestamp is
-- DATETIME(6) holding UTC written by UTC_TIMESTAMP(6) or by the client in UTC, and keys use utf8mb4_bin
-- because Hangfire treats keys as case-sensitive strings.

CREATE TABLE IF NOT EXISTS `{prefix}job` (
  `Id` BIGINT NOT NULL AUTO_INCREMENT,
  `StateId` BIGINT NULL,
  `StateName` VARCHAR(20) NULL,
  `InvocationData` LONGTEXT NOT NULL,
  `Arguments` LONGTEXT NOT NULL,
  `CreatedAt` DATETIME(6) NOT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_job_StateName` (`StateName`, `Id`),
  KEY `IX_job_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}job_parameter` (
  `JobId` BIGINT NOT NULL,
  `Name` VARCHAR(100) NOT NULL,
  `Value` LONGTEXT NULL,
  PRIMARY KEY (`JobId`, `Name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}state` (
  `Id` BIGINT NOT NULL AUTO_INCREMENT,
  `JobId` BIGINT NOT NULL,
  `Name` VARCHAR(20) NOT NULL,
  `Reason` VARCHAR(100) NULL,
  `CreatedAt` DATETIME(6) NOT NULL,
  `Data` LONGTEXT NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_state_JobId` (`JobId`, `Id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- FetchedAt/FetchToken describe the current claim: a row is visible to fetchers when it has no claim
-- or when its claim is older than the invisibility timeout; the token fences a stale holder.
CREATE TABLE IF NOT EXISTS `{prefix}job_queue` (
  `Id` BIGINT NOT NULL AUTO_INCREMENT,
  `JobId` BIGINT NOT NULL,
  `Queue` VARCHAR(50) NOT NULL,
  `FetchedAt` DATETIME(6) NULL,
  `FetchToken` CHAR(32) NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_job_queue_Queue` (`Queue`, `Id`),
  KEY `IX_job_queue_JobId` (`JobId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}server` (
  `Id` VARCHAR(200) NOT NULL,
  `Data` LONGTEXT NULL,
  `LastHeartbeat` DATETIME(6) NOT NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_server_LastHeartbeat` (`LastHeartbeat`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}set` (
  `Key` VARCHAR(100) NOT NULL,
  `Value` VARCHAR(256) NOT NULL,
  `Score` DOUBLE NOT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Key`, `Value`),
  KEY `IX_set_Score` (`Key`, `Score`),
  KEY `IX_set_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}list` (
  `Id` BIGINT NOT NULL AUTO_INCREMENT,
  `Key` VARCHAR(100) NOT NULL,
  `Value` LONGTEXT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_list_Key` (`Key`, `Id`),
  KEY `IX_list_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}hash` (
  `Key` VARCHAR(100) NOT NULL,
  `Field` VARCHAR(100) NOT NULL,
  `Value` LONGTEXT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Key`, `Field`),
  KEY `IX_hash_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Increments are appended as rows (no hot row to contend on) and folded into aggregated_counter later.
CREATE TABLE IF NOT EXISTS `{prefix}counter` (
  `Id` BIGINT NOT NULL AUTO_INCREMENT,
  `Key` VARCHAR(100) NOT NULL,
  `Value` INT NOT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Id`),
  KEY `IX_counter_Key` (`Key`),
  KEY `IX_counter_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `{prefix}aggregated_counter` (
  `Key` VARCHAR(100) NOT NULL,
  `Value` BIGINT NOT NULL,
  `ExpireAt` DATETIME(6) NULL,
  PRIMARY KEY (`Key`),
  KEY `IX_aggregated_counter_ExpireAt` (`ExpireAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
