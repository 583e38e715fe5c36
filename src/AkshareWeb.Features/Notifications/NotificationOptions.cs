namespace AkshareWeb.Features.Notifications;

/// <summary>Configuration section <c>Notifications</c>.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>
    /// Channel URLs and SMTP hosts that resolve to loopback, private, link-local or otherwise internal addresses
    /// (the AKTools and database hosts among them) are refused unless this is true: a channel is a request the
    /// service makes on a user's behalf, and must not reach what only the service can reach.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>
    /// More hosts no channel may reach, beside those the service itself uses (the AKTools host and the database
    /// servers, added at start-up).
    /// </summary>
    public List<string> InternalHosts { get; set; } = [];

    /// <summary>Messages one channel may get in any 60 s; what comes beyond waits and goes out summed up in one.</summary>
    public int MaxPerChannelPerMinute { get; set; } = 10;

    /// <summary>Tries of one delivery before it is recorded failed.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait after a failed try, doubled after each further one.</summary>
    public double RetryBaseSeconds { get; set; } = 30;

    /// <summary>A task whose runs failed this many times in a row (each retry chain counted once) raises task_failing.</summary>
    public int TaskFailingAfter { get; set; } = 3;

    /// <summary>How often each instance looks for deliveries that are due (publishing on the same instance wakes it at once).</summary>
    public double PollSeconds { get; set; } = 2;

    /// <summary>For one send, HTTP or SMTP.</summary>
    public double TimeoutSeconds { get; set; } = 15;

    /// <summary>Where people reach this service (https://data.example.com): messages then link to the run.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Events and their deliveries are kept this long.</summary>
    public int KeepDays { get; set; } = 30;
}

/// <summary>The events a channel can listen to, by the names the API takes.</summary>
public static class NotificationEvents
{
    /// <summary>A run failed or timed out and no automatic retry follows; for a run in parts, "N of M parts failed".</summary>
    public const string RunFailed = "run_failed";
    /// <summary>A task's runs failed this many times in a row (Notifications:TaskFailingAfter).</summary>
    public const string TaskFailing = "task_failing";
    /// <summary>A site family (eastmoney, sina, ...) is paused after failures in a row.</summary>
    public const string SitePaused = "site_paused";
    /// <summary>Runs the watchdog failed because the instance running them stopped answering.</summary>
    public const string InstanceLost = "instance_lost";
    /// <summary>A table went stale or has new gaps.</summary>
    public const string TableGaps = "table_gaps";

    public static readonly string[] All = [RunFailed, TaskFailing, SitePaused, InstanceLost, TableGaps];

    /// <summary>Not subscribed to: a channel's test message, and the message that sums up those held back.</summary>
    public const string Test = "test";
    public const string Summary = "summary";

    /// <summary>Every event a delivery can carry.</summary>
    public static readonly string[] Delivered = [.. All, Test, Summary];
}

public static class ChannelTypes
{
    public const string Webhook = "webhook";
    public const string DingTalk = "dingtalk";
    public const string WeCom = "wecom";
    public const string Feishu = "feishu";
    public const string Slack = "slack";
    public const string Email = "email";

    public static readonly string[] All = [Webhook, DingTalk, WeCom, Feishu, Slack, Email];

    /// <summary>The robots whose URL is the whole credential: they take no signing secret.</summary>
    public static bool TakesNoSecret(string type) => type is WeCom or Slack;
}

public static class ChannelScopes
{
    /// <summary>The owner's own tasks and downloads.</summary>
    public const string Mine = "mine";
    /// <summary>Everything (admins only).</summary>
    public const string All = "all";

    public static readonly string[] Values = [Mine, All];
}

public static class DeliveryStatuses
{
    public const string Pending = "pending";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Failed = "failed";
    /// <summary>Held back by the per-minute cap and carried by the summary delivery it names.</summary>
    public const string Summarised = "summarised";

    public static readonly string[] All = [Pending, Sending, Sent, Failed, Summarised];
}

public static class SmtpSecurity
{
    public const string None = "none";
    public const string StartTls = "starttls";
    public const string Ssl = "ssl";

    public static readonly string[] All = [None, StartTls, Ssl];
}
