using Dapper;
using MySqlConnector;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// A table this run creates names the run and its time as the bookkeeping columns' defaults, so its first loads need
/// not set them row by row (about 5 % of a load's cost); once the run stops loading straight in, it drops them. Only
/// the run that set them does: another run on the table may still be loading on them. Dropping a default changes
/// metadata only, but it waits for readers of the table (an export) — 5 s at most, after which the defaults stay.
/// They are harmless: every other write names its execution and time itself.
/// </summary>
internal sealed class BookkeepingDefaults(WriteConnection db, FilledTable table)
{
    /// <summary>The defaults name this run: its loads may leave the bookkeeping columns to them.</summary>
    public bool Own { get; private set; }

    /// <summary>What the table as read says: the defaults are this run's when they name it, and it writes alone.</summary>
    public void Observe(TableFacts facts) => Own = facts.ExecutionIdDefault == table.ExecutionId && !table.Shared;

    /// <summary>
    /// This run has just created the table, under its lock. Several writes of one run at once (a parted run on two
    /// instances) drop the defaults at once instead: another of them could drop them under a load that relies on them.
    /// </summary>
    public async Task CreatedAsync()
    {
        if (!table.Shared) return;
        Own = true;
        await DropAsync();
    }

    /// <summary>Drops the defaults if this run owns them. Called under the table's lock.</summary>
    public async Task DropAsync()
    {
        if (!Own) return;
        Own = false;
        try
        {
            await db.Connection.ExecuteAsync(new CommandDefinition($"""
                SET SESSION lock_wait_timeout = 5;
                ALTER TABLE {table.Quoted} ALTER COLUMN _execution_id DROP DEFAULT, ALTER COLUMN _collected_at DROP DEFAULT;
                """));
        }
        catch (MySqlException)
        {
        }
        finally
        {
            await db.Connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = DEFAULT"));
        }
    }
}
