using System.Globalization;
using Hangfire.Common;
using Hangfire.Storage;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>How a job's invocation is stored: the payload without arguments, and the arguments apart.</summary>
internal static class JobPayload
{
    public static (string InvocationData, string Arguments) Serialize(Job job)
    {
        var data = InvocationData.SerializeJob(job);
        return (data.SerializePayload(excludeArguments: true), data.Arguments);
    }

    public static (InvocationData Data, Job? Job, JobLoadException? Error) Deserialize(string invocationData, string? arguments)
    {
        var data = InvocationData.DeserializePayload(invocationData);
        if (!string.IsNullOrEmpty(arguments))
        {
            data.Arguments = arguments;
        }

        try
        {
            return (data, data.DeserializeJob(), null);
        }
        catch (JobLoadException ex)
        {
            return (data, null, ex);
        }
    }

    public static bool TryParseId(string? jobId, out long id)
        => long.TryParse(jobId, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;

    public static string FormatId(long id) => id.ToString(CultureInfo.InvariantCulture);

    public static Dictionary<string, string> DeserializeStateData(string? data)
    {
        // The dashboard looks fields up without regard to case ("enqueuedAt" vs "EnqueuedAt").
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(data))
        {
            return result;
        }

        var parsed = SerializationHelper.Deserialize<Dictionary<string, string>>(data);
        if (parsed is not null)
        {
            foreach (var pair in parsed)
            {
                result[pair.Key] = pair.Value;
            }
        }

        return result;
    }

    public static string SerializeStateData(IDictionary<string, string> data) => SerializationHelper.Serialize(data);
}
