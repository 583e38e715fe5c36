-- Notification channels: where a user (or, with scope 'all', an admin for everyone) hears of failures. A robot's
-- URL carries its token, so the URL is stored encrypted like the secrets (Data Protection, keys in the database);
-- url_shown is the same URL with its token parts masked, the only form the API returns.
CREATE TABLE IF NOT EXISTS notification_channels (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  type VARCHAR(16) NOT NULL,
  scope VARCHAR(8) NOT NULL,
  events JSON NOT NULL,
  url_protected TEXT NULL,
  url_shown VARCHAR(2100) NULL,
  secret_protected TEXT NULL,
  smtp JSON NULL,
  smtp_password_protected TEXT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY ix_notification_channels_user (user_id),
  CONSTRAINT fk_notification_channels_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What happened, once: the unique (event, event_key) makes a second publish of the same run's failure (two
-- instances, a repeated hook) a no-op, so each run and event makes one message per channel at most.
CREATE TABLE IF NOT EXISTS notification_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event VARCHAR(32) NOT NULL,
  event_key VARCHAR(190) NOT NULL,
  title VARCHAR(500) NOT NULL,
  body JSON NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY ux_notification_events_key (event, event_key),
  KEY ix_notification_events_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One event for one channel: queued, claimed by one instance at a time (status 'sending' with a lease), retried
-- with back-off, and recorded. A delivery held back by the per-minute cap and sent inside a summary points at
-- the summary's delivery (summary_id).
CREATE TABLE IF NOT EXISTS notification_deliveries (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  channel_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  last_attempt_at DATETIME(6) NULL,
  last_error VARCHAR(1000) NULL,
  claimed_by VARCHAR(160) NULL,
  claimed_until DATETIME(6) NULL,
  summary_id BIGINT NULL,
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  UNIQUE KEY ux_notification_deliveries_event_channel (event_id, channel_id),
  KEY ix_notification_deliveries_due (status, next_attempt_at),
  KEY ix_notification_deliveries_channel (channel_id, id),
  KEY ix_notification_deliveries_summary (summary_id),
  CONSTRAINT fk_notification_deliveries_event FOREIGN KEY (event_id) REFERENCES notification_events (id) ON DELETE CASCADE,
  CONSTRAINT fk_notification_deliveries_channel FOREIGN KEY (channel_id) REFERENCES notification_channels (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every message that left (or tried to) for a channel, counted for Notifications:MaxPerChannelPerMinute across
-- instances; rows older than an hour go.
CREATE TABLE IF NOT EXISTS notification_sends (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  channel_id BIGINT NOT NULL,
  sent_at DATETIME(6) NOT NULL,
  KEY ix_notification_sends_channel (channel_id, sent_at),
  CONSTRAINT fk_notification_sends_channel FOREIGN KEY (channel_id) REFERENCES notification_channels (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
