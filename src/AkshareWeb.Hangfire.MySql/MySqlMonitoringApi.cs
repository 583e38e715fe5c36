using System.Globalization;
using System.Text.Json;
using Dapper;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>Read-only queries behind the dashboard. Counts and pages are capped by DashboardJobListLimit.</summary>
internal sealed class MySqlMonitoringApi(MySqlStorage storage) : JobStorageMonitor
{
    private const int QueuePreviewSize = 5;
    private readonly TableNames _t = storage.Tables;
    private readonly int _limit = storage.Options.DashboardJobListLimit;

    public override IList<QueueWithTopEnqueuedJobsDto> Queues()
    {
        var queues = storage.UseConnection(c => c.Query<QueueCounts>(
            $"""
            SELECT `Queue`,
                   CAST(SUM(CASE WHEN `FetchedAt` IS NULL THEN 1 ELSE 0 END) AS SIGNED) AS `Length`,
                   CAST(SUM(CASE WHEN `FetchedAt` IS NULL THEN 0 ELSE 1 END) AS SIGNED) AS `Fetched`
            FROM {_t.JobQueue} GROUP BY `Queue` ORDER BY `Queue`
            """).AsList());
        return queues.Select(q => new QueueWithTopEnqueuedJobsDto
        {
            Name = q.Queue,
            Length = q.Length,
            Fetched = q.Fetched,
            FirstJobs = EnqueuedJobs(q.Queue, 0, QueuePreviewSize),
        }).ToList();
    }

    public override IList<ServerDto> Servers()
    {
        var rows = storage.UseConnection(c => c.Query<ServerRow>(
            $"SELECT `Id`, `Data`, `LastHeartbeat` FROM {_t.Server} ORDER BY `Id`").AsList());
        return rows.Select(r =>
        {
            var data = string.IsNullOrEmpty(r.Data) ? null : JsonSerializer.Deserialize<MySqlStorageConnection.ServerData>(r.Data);
            return new ServerDto
            {
                Name = r.Id,
                WorkersCount = data?.WorkerCount ?? 0,
                Queues = data?.Queues ?? [],
                StartedAt = data?.StartedAt ?? default,
                Heartbeat = DateTime.SpecifyKind(r.LastHeartbeat, DateTimeKind.Utc),
            };
        }).ToList();
    }

    public override JobDetailsDto? JobDetails(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (!JobPayload.TryParseId(jobId, out var id))
        {
            return null;
        }

        return storage.UseConnection(c =>
        {
            using var results = c.QueryMultiple(
                $"""
                SELECT `InvocationData`, `Arguments`, `CreatedAt`, `ExpireAt` FROM {_t.Job} WHERE `Id` = @id;
                SELECT `Name`, `Value` FROM {_t.JobParameter} WHERE `JobId` = @id ORDER BY `Name`;
                SELECT `Name`, `Reason`, `CreatedAt`, `Data` FROM {_t.State} WHERE `JobId` = @id ORDER BY `Id` DESC;
                """,
                new { id });
            var job = results.ReadSingleOrDefault<JobDetailsRow>();
            var parameters = results.Read<(string Name, string? Value)>().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            var history = results.Read<StateHistoryRow>().Select(s => new StateHistoryDto
            {
                StateName = s.Name,
                Reason = s.Reason,
                CreatedAt = DateTime.SpecifyKind(s.CreatedAt, DateTimeKind.Utc),
                Data = JobPayload.DeserializeStateData(s.Data),
            }).ToList();
            if (job is null)
            {
                return null;
            }

            var (data, loaded, error) = JobPayload.Deserialize(job.InvocationData, job.Arguments);
            return new JobDetailsDto
            {
                Job = loaded,
                LoadException = error,
                InvocationData = data,
                CreatedAt = DateTime.SpecifyKind(job.CreatedAt, DateTimeKind.Utc),
                ExpireAt = job.ExpireAt is { } e ? DateTime.SpecifyKind(e, DateTimeKind.Utc) : null,
                Properties = parameters,
                History = history,
            };
        });
    }

    public override StatisticsDto GetStatistics()
    {
        return storage.UseConnection(c =>
        {
            var states = c.Query<(string StateName, long Count)>(
                $"""
                SELECT 'Enqueued', COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = 'Enqueued' LIMIT @limit) AS a
                UNION ALL SELECT 'Failed', COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = 'Failed' LIMIT @limit) AS b
                UNION ALL SELECT 'Processing', COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = 'Processing' LIMIT @limit) AS d
                UNION ALL SELECT 'Scheduled', COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = 'Scheduled' LIMIT @limit) AS e
                UNION ALL SELECT 'Awaiting', COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = 'Awaiting' LIMIT @limit) AS f
                """,
                new { limit = _limit }).ToDictionary(r => r.StateName, r => r.Count, StringComparer.Ordinal);
            var other = c.QuerySingle<OtherStats>(
                $"""
                SELECT
                  (SELECT COUNT(*) FROM {_t.Server}) AS `Servers`,
                  (SELECT COUNT(DISTINCT `Queue`) FROM {_t.JobQueue}) AS `Queues`,
                  (SELECT COUNT(*) FROM {_t.Set} WHERE `Key` = 'recurring-jobs') AS `Recurring`,
                  (SELECT COUNT(*) FROM {_t.Set} WHERE `Key` = 'retries') AS `Retries`,
                  CAST((SELECT COALESCE(SUM(`Value`), 0) FROM {_t.Counter} WHERE `Key` = 'stats:succeeded')
                     + (SELECT COALESCE(SUM(`Value`), 0) FROM {_t.AggregatedCounter} WHERE `Key` = 'stats:succeeded') AS SIGNED) AS `Succeeded`,
                  CAST((SELECT COALESCE(SUM(`Value`), 0) FROM {_t.Counter} WHERE `Key` = 'stats:deleted')
                     + (SELECT COALESCE(SUM(`Value`), 0) FROM {_t.AggregatedCounter} WHERE `Key` = 'stats:deleted') AS SIGNED) AS `Deleted`
                """);
            return new StatisticsDto
            {
                Enqueued = states["Enqueued"],
                Failed = states["Failed"],
                Processing = states["Processing"],
                Scheduled = states["Scheduled"],
                Awaiting = states["Awaiting"],
                Servers = other.Servers,
                Queues = other.Queues,
                Recurring = other.Recurring,
                Retries = other.Retries,
                Succeeded = other.Succeeded,
                Deleted = other.Deleted,
            };
        });
    }

    public override JobList<EnqueuedJobDto> EnqueuedJobs(string queue, int from, int perPage)
        => QueuedJobs(queue, from, perPage, fetched: false, r => new EnqueuedJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            State = r.Row.StateName,
            InEnqueuedState = r.Row.StateName == EnqueuedState.StateName,
            EnqueuedAt = r.Row.StateName == EnqueuedState.StateName ? JobHelper.DeserializeNullableDateTime(r.Get("EnqueuedAt")) : null,
            StateData = r.StateData,
        });

    public override JobList<FetchedJobDto> FetchedJobs(string queue, int from, int perPage)
        => QueuedJobs(queue, from, perPage, fetched: true, r => new FetchedJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            State = r.Row.StateName,
            FetchedAt = r.Row.FetchedAt is { } f ? DateTime.SpecifyKind(f, DateTimeKind.Utc) : null,
        });

    public override JobList<ProcessingJobDto> ProcessingJobs(int from, int count)
        => JobsInState(ProcessingState.StateName, from, count, r => new ProcessingJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InProcessingState = true,
            ServerId = r.Get("ServerId") ?? r.Get("ServerName"),
            StartedAt = JobHelper.DeserializeNullableDateTime(r.Get("StartedAt")),
            StateData = r.StateData,
        });

    public override JobList<ScheduledJobDto> ScheduledJobs(int from, int count)
        => JobsInState(ScheduledState.StateName, from, count, r => new ScheduledJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InScheduledState = true,
            EnqueueAt = JobHelper.DeserializeNullableDateTime(r.Get("EnqueueAt")) ?? default,
            ScheduledAt = JobHelper.DeserializeNullableDateTime(r.Get("ScheduledAt")),
            StateData = r.StateData,
        });

    public override JobList<SucceededJobDto> SucceededJobs(int from, int count)
        => JobsInState(SucceededState.StateName, from, count, r => new SucceededJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InSucceededState = true,
            Result = r.Get("Result"),
            TotalDuration = r.Get("PerformanceDuration") is { } p && r.Get("Latency") is { } l
                ? long.Parse(p, CultureInfo.InvariantCulture) + long.Parse(l, CultureInfo.InvariantCulture)
                : null,
            SucceededAt = JobHelper.DeserializeNullableDateTime(r.Get("SucceededAt")),
            StateData = r.StateData,
        });

    public override JobList<FailedJobDto> FailedJobs(int from, int count)
        => JobsInState(FailedState.StateName, from, count, r => new FailedJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InFailedState = true,
            Reason = r.Row.StateReason,
            FailedAt = JobHelper.DeserializeNullableDateTime(r.Get("FailedAt")),
            ExceptionType = r.Get("ExceptionType"),
            ExceptionMessage = r.Get("ExceptionMessage"),
            ExceptionDetails = r.Get("ExceptionDetails"),
            StateData = r.StateData,
        });

    public override JobList<DeletedJobDto> DeletedJobs(int from, int count)
        => JobsInState(DeletedState.StateName, from, count, r => new DeletedJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InDeletedState = true,
            DeletedAt = JobHelper.DeserializeNullableDateTime(r.Get("DeletedAt")),
            StateData = r.StateData,
        });

    public override JobList<AwaitingJobDto> AwaitingJobs(int from, int count)
    {
        var list = JobsInState(AwaitingState.StateName, from, count, r => new AwaitingJobDto
        {
            Job = r.Job,
            LoadException = r.LoadException,
            InvocationData = r.InvocationData,
            InAwaitingState = true,
            AwaitingAt = r.Row.StateCreatedAt is { } at ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : null,
            StateData = r.StateData,
            ParentStateName = r.Get("ParentId"), // replaced by the parent's state name below
        });
        var parentIds = list
            .Select(p => JobPayload.TryParseId(p.Value.ParentStateName, out var id) ? id : 0)
            .Where(id => id > 0)
            .Distinct()
            .ToList();
        var parentStates = parentIds.Count == 0
            ? new Dictionary<string, string?>()
            : storage.UseConnection(c => c.Query<(long Id, string? StateName)>(
                    $"SELECT `Id`, `StateName` FROM {_t.Job} WHERE `Id` IN @parentIds", new { parentIds }))
                .ToDictionary(p => JobPayload.FormatId(p.Id), p => p.StateName, StringComparer.Ordinal);
        foreach (var pair in list)
        {
            pair.Value.ParentStateName = pair.Value.ParentStateName is { } parentId && parentStates.TryGetValue(parentId, out var name) ? name : null;
        }

        return list;
    }

    public override long ScheduledCount() => CountInState(ScheduledState.StateName);

    public override long EnqueuedCount(string queue) => QueueCount(queue, fetched: false);

    public override long FetchedCount(string queue) => QueueCount(queue, fetched: true);

    public override long FailedCount() => CountInState(FailedState.StateName);

    public override long ProcessingCount() => CountInState(ProcessingState.StateName);

    public override long SucceededListCount() => CountInState(SucceededState.StateName);

    public override long DeletedListCount() => CountInState(DeletedState.StateName);

    public override long AwaitingCount() => CountInState(AwaitingState.StateName);

    public override IDictionary<DateTime, long> SucceededByDatesCount() => DailyCounts("succeeded");

    public override IDictionary<DateTime, long> FailedByDatesCount() => DailyCounts("failed");

    public override IDictionary<DateTime, long> DeletedByDatesCount() => DailyCounts("deleted");

    public override IDictionary<DateTime, long> HourlySucceededJobs() => HourlyCounts("succeeded");

    public override IDictionary<DateTime, long> HourlyFailedJobs() => HourlyCounts("failed");

    public override IDictionary<DateTime, long> HourlyDeletedJobs() => HourlyCounts("deleted");

    // ---- helpers

    private Dictionary<DateTime, long> DailyCounts(string type)
    {
        var today = storage.Clock.GetUtcNow().UtcDateTime.Date;
        var dates = Enumerable.Range(0, 7).Select(i => today.AddDays(-i)).ToList();
        return CountersFor(dates, d => $"stats:{type}:{d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
    }

    private Dictionary<DateTime, long> HourlyCounts(string type)
    {
        var now = storage.Clock.GetUtcNow().UtcDateTime;
        var hour = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        var hours = Enumerable.Range(0, 24).Select(i => hour.AddHours(-i)).ToList();
        return CountersFor(hours, d => $"stats:{type}:{d.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture)}");
    }

    private Dictionary<DateTime, long> CountersFor(List<DateTime> points, Func<DateTime, string> keyOf)
    {
        var keys = points.Select(keyOf).ToList();
        var values = storage.UseConnection(c => c.Query<(string Key, long Value)>(
                $"""
                SELECT `Key`, CAST(SUM(`Value`) AS SIGNED) AS `Value` FROM (
                  SELECT `Key`, `Value` FROM {_t.Counter} WHERE `Key` IN @keys
                  UNION ALL
                  SELECT `Key`, `Value` FROM {_t.AggregatedCounter} WHERE `Key` IN @keys
                ) AS c GROUP BY `Key`
                """,
                new { keys }))
            .ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
        return points.ToDictionary(p => p, p => values.TryGetValue(keyOf(p), out var v) ? v : 0L);
    }

    private long CountInState(string state)
        => storage.UseConnection(c => c.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM (SELECT 1 FROM {_t.Job} WHERE `StateName` = @state LIMIT @limit) AS limited",
            new { state, limit = _limit }));

    private long QueueCount(string queue, bool fetched)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return storage.UseConnection(c => c.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM (SELECT 1 FROM {_t.JobQueue} WHERE `Queue` = @queue AND {FetchedFilter(fetched)} LIMIT @limit) AS limited",
            new { queue, limit = _limit }));
    }

    private static string FetchedFilter(bool fetched) => fetched ? "`FetchedAt` IS NOT NULL" : "`FetchedAt` IS NULL";

    private (int Offset, int Count) Page(int from, int count)
    {
        var offset = Math.Clamp(from, 0, _limit);
        return (offset, Math.Clamp(count, 0, _limit - offset));
    }

    private JobList<T> JobsInState<T>(string state, int from, int count, Func<LoadedRow, T> map)
    {
        var (offset, limit) = Page(from, count);
        var rows = limit == 0
            ? []
            : storage.UseConnection(c => c.Query<ListRow>(
                $"""
                SELECT j.`Id`, j.`InvocationData`, j.`Arguments`, j.`StateName`, NULL AS `FetchedAt`,
                       s.`Reason` AS `StateReason`, s.`Data` AS `StateData`, s.`CreatedAt` AS `StateCreatedAt`
                FROM {_t.Job} j LEFT JOIN {_t.State} s ON s.`Id` = j.`StateId`
                WHERE j.`StateName` = @state
                ORDER BY j.`Id` DESC
                LIMIT @limit OFFSET @offset
                """,
                new { state, limit, offset }).AsList());
        return ToList(rows, map);
    }

    private JobList<T> QueuedJobs<T>(string queue, int from, int perPage, bool fetched, Func<LoadedRow, T> map)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var (offset, limit) = Page(from, perPage);
        var rows = limit == 0
            ? []
            : storage.UseConnection(c => c.Query<ListRow>(
                $"""
                SELECT j.`Id`, j.`InvocationData`, j.`Arguments`, j.`StateName`, q.`FetchedAt`,
                       s.`Reason` AS `StateReason`, s.`Data` AS `StateData`, s.`CreatedAt` AS `StateCreatedAt`
                FROM {_t.JobQueue} q
                JOIN {_t.Job} j ON j.`Id` = q.`JobId`
                LEFT JOIN {_t.State} s ON s.`Id` = j.`StateId`
                WHERE q.`Queue` = @queue AND q.{FetchedFilter(fetched)}
                ORDER BY q.`Id`
                LIMIT @limit OFFSET @offset
                """,
                new { queue, limit, offset }).AsList());
        return ToList(rows, map);
    }

    private static JobList<T> ToList<T>(List<ListRow> rows, Func<LoadedRow, T> map)
        => new(rows.Select(r =>
        {
            var (data, job, error) = JobPayload.Deserialize(r.InvocationData, r.Arguments);
            var loaded = new LoadedRow(r, data, job, error, JobPayload.DeserializeStateData(r.StateData));
            return new KeyValuePair<string, T>(JobPayload.FormatId(r.Id), map(loaded));
        }));

    private sealed record LoadedRow(ListRow Row, InvocationData InvocationData, Job? Job, JobLoadException? LoadException, Dictionary<string, string> StateData)
    {
        public string? Get(string name) => StateData.TryGetValue(name, out var value) ? value : null;
    }

    private sealed class ListRow
    {
        public long Id { get; set; }
        public string InvocationData { get; set; } = "";
        public string? Arguments { get; set; }
        public string? StateName { get; set; }
        public DateTime? FetchedAt { get; set; }
        public string? StateReason { get; set; }
        public string? StateData { get; set; }
        public DateTime? StateCreatedAt { get; set; }
    }

    private sealed record QueueCounts(string Queue, long Length, long Fetched);

    private sealed record ServerRow(string Id, string? Data, DateTime LastHeartbeat);

    private sealed record JobDetailsRow(string InvocationData, string? Arguments, DateTime CreatedAt, DateTime? ExpireAt);

    private sealed record StateHistoryRow(string Name, string? Reason, DateTime CreatedAt, string? Data);

    private sealed record OtherStats(long Servers, long Queues, long Recurring, long Retries, long Succeeded, long Deleted);

}
