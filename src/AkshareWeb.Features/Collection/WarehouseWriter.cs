using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using MySqlConnector;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>Collection</c>.</summary>
public sealed class CollectionOptions
{
    public const string Section = "Collection";

    /// <summary>Load batches with LOAD DATA LOCAL INFILE (MySqlBulkLoader). Off, or refused by the server, batches
    /// go in as multi-row INSERTs: slower, same result.</summary>
    public bool UseBulkLoad { get; set; } = true;
}

public static class WriteModes
{
    public const string Upsert = "upsert";
    public const string Append = "append";
    public const string Replace = "replace";
    public static readonly string[] All = [Upsert, Append, Replace];
}

/// <summary>What one batch did to the table.</summary>
public readonly record struct BatchResult(long Inserted, long Updated);

/// <summary>
/// Writes one execution's rows into its ak_* table, batch by batch.
/// <para>How a row is recognised again: in upsert mode by its natural key, under a unique index on the key columns
/// themselves (rows arrive roughly in key order, so the index grows at its end); in append and replace mode, or
/// when the key columns cannot be indexed, by <c>_row_key</c>, the XXH128 of the key (of all values in append
/// mode), under a unique index. <c>_row_hash</c> (of all non-null values) tells a changed row from an unchanged one.</para>
/// <para>Each batch: widen the table for the batch's columns (DDL, which MySQL commits by itself and which never
/// removes or narrows anything); render the values as MySQL reads them; then, under a per-table lock and in one
/// transaction, either load every row straight into the table (while the table is new to them: the load must
/// insert them all, else it is rolled back and the batch takes the other way) or look the batch's keys up,
/// load the new rows and update the changed ones by id. A failed batch leaves the table as it was before it.</para>
/// </summary>
public sealed partial class WarehouseWriter(WarehouseDatabase warehouse, TimeProvider time, IOptions<CollectionOptions>? options = null)
{
    [GeneratedRegex("^ak_[a-z0-9_]{1,61}$")]
    public static partial Regex TableNamePattern();

    /// <param name="shared">Several writes of the one run at once (a parted run on two instances): none of them relies on
    /// the bookkeeping columns' defaults naming the run, which another could drop under it.</param>
    public async Task<TableWrite> OpenAsync(ExecutionPlan plan, string executionId, CancellationToken ct, bool shared = false)
    {
        if (!TableNamePattern().IsMatch(plan.TargetTable))
        {
            throw new InvalidOperationException($"target table {plan.TargetTable} is not ak_ followed by lowercase letters, digits and _ (64 at most)");
        }

        var connection = await warehouse.OpenAsync(ct);
        try
        {
            var write = new TableWrite(connection, plan, executionId, time, options?.Value.UseBulkLoad ?? true, shared);
            await write.StartAsync(ct);
            return write;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Builds indexes a run left for later (<see cref="TableWrite.BrowsingIndexes"/>), under the table's write lock
    /// so no batch of another run looks keys up meanwhile; an index another run built first is skipped. The
    /// build is online: readers and exports go on. If it never happens (the service stopped), the next run on the
    /// table finds the index missing and leaves it for later again. True when an index was built.
    /// <para>An online build still needs the table to itself for a moment at its start and end, and queries that
    /// arrive meanwhile wait behind it; <paramref name="lockWaitSeconds"/> bounds that wait (behind a long export,
    /// say), after which the build fails rather than hold the readers up.</para>
    /// </summary>
    public async Task<bool> AddIndexesAsync(string table, IReadOnlyList<BrowsingIndex> indexes, CancellationToken ct, int? lockWaitSeconds = null)
    {
        if (indexes.Count == 0 || !TableNamePattern().IsMatch(table)) return false;
        await using var connection = await warehouse.OpenAsync(ct);
        var name = WriteLockName(connection.Database, table);
        if (await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, 600)", new { name }, cancellationToken: ct)) != 1) return false;
        try
        {
            var present = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var definitions = indexes.Where(i => !present.Contains(i.Name)).Select(i => $"ADD KEY {ColumnNames.Quote(i.Name)} ({ColumnNames.Quote(i.Column)})").ToList();
            if (definitions.Count == 0) return false;
            if (lockWaitSeconds is { } seconds)
            {
                await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = @seconds", new { seconds }, cancellationToken: ct));
            }

            await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE {ColumnNames.Quote(table)} {string.Join(", ", definitions)}", commandTimeout: 0, cancellationToken: ct));
            return true;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name }));
        }
    }

    private static string WriteLockName(string database, string table) =>
        "akshareweb:w:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(database + "." + table)))[..32];

    /// <summary>An index for reading: its name and its one column's SQL name.</summary>
    public sealed record BrowsingIndex(string Name, string Column);

    /// <summary>Names of the indexes built because readers sort by a column (see Tables.SortIndexes).</summary>
    public const string SortIndexPrefix = "ix_sort_";

    public sealed class TableWrite : IAsyncDisposable
    {
        private const int NewRowHashBytes = 16;
        private readonly MySqlConnection connection;
        private readonly ExecutionPlan plan;
        private readonly string executionId;
        private readonly TimeProvider time;
        // original name -> (sql name, type), as the table has them now
        private readonly Dictionary<string, (string Sql, ColumnType Type)> columns = new(StringComparer.Ordinal);
        private readonly string writeTable;
        private readonly IReadOnlyList<string> keyColumns;
        private readonly ByteBuffer load = new(1 << 16);
        // The merge's bookkeeping, reused batch after batch (see Rendered).
        private readonly Dictionary<int, (long Id, UInt128 Hash)> found = [];
        private readonly List<int> fresh = [];
        private readonly List<int> changed = [];
        private long[] ids = [];
        private readonly System.Collections.Concurrent.ConcurrentBag<Rendered> renderings = [];
        private readonly System.Collections.Concurrent.ConcurrentBag<ByteBuffer> texts = [];
        private volatile Schema? schema;
        private bool exists;
        private bool useBulk;
        private bool naturalKey;
        private int rowHashBytes = NewRowHashBytes;
        private int rowKeyBytes = NewRowHashBytes;
        private bool retriedDdl;
        private bool indexesPending;
        private bool rekey;
        // The bookkeeping columns' defaults name this run (it created the table); see DropDefaultsAsync.
        private bool ownDefaults;
        private readonly bool shared;
        // While the table has had none of the rows seen so far, batches go straight in.
        private bool straightIn;

        internal TableWrite(MySqlConnection connection, ExecutionPlan plan, string executionId, TimeProvider time, bool useBulk, bool shared = false)
        {
            this.shared = shared;
            this.useBulk = useBulk;
            this.connection = connection;
            this.plan = plan;
            this.executionId = executionId;
            this.time = time;
            keyColumns = plan.WriteMode == WriteModes.Upsert ? plan.KeyColumns : [];
            // Replace mode fills a fresh table and swaps it in at the end; readers never see a half table.
            writeTable = plan.WriteMode == WriteModes.Replace ? plan.TargetTable[..Math.Min(plan.TargetTable.Length, 55)] + "__replace" : plan.TargetTable;
        }

        public long RowsBefore { get; private set; }
        public bool TableCreated { get; private set; }
        public int ColumnsAdded { get; private set; }
        public int ColumnsWidened { get; private set; }
        /// <summary>Rows of this run dropped when the key index was built because a newer row had the same key.</summary>
        public long DuplicatesRemoved { get; private set; }
        /// <summary>The table's unique index was on another key than the script's (or on whole rows), and was rebuilt on the script's.</summary>
        public bool KeyRebuilt { get; private set; }
        /// <summary>Rows of earlier runs that the rebuilt key found to be one row: the newest of each stayed.</summary>
        public long EarlierDuplicatesRemoved { get; private set; }
        /// <summary>Indexes for reading the table that it lacks once the run has ended; see <see cref="AddIndexesAsync"/>.</summary>
        public IReadOnlyList<BrowsingIndex> BrowsingIndexes { get; private set; } = [];

        internal async Task StartAsync(CancellationToken ct)
        {
            var targetExists = await TableExistsAsync(plan.TargetTable, ct);
            RowsBefore = targetExists ? await CountAsync(plan.TargetTable, ct) : 0;
            if (plan.WriteMode == WriteModes.Replace)
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(writeTable)}", cancellationToken: ct));
                exists = false;
                straightIn = true;
            }
            else
            {
                exists = targetExists;
                straightIn = RowsBefore == 0;
                if (exists) await LoadColumnsAsync(ct);
            }

            if (exists) Publish();
        }

        /// <summary>
        /// Renders a batch ahead of its turn (on the reading side, while the batch before it is being written),
        /// against the table's columns as they are now. When the batch turns out to need new or wider columns,
        /// <see cref="WriteAsync"/> renders it again after changing the table.
        /// </summary>
        public PreparedBatch Prepare(RowBatch batch)
        {
            var prepared = new PreparedBatch(batch);
            var current = schema;
            if (current is null || batch.Count == 0) return prepared;
            for (var i = 0; i < batch.Columns.Count; i++)
            {
                if (!current.Columns.TryGetValue(batch.Columns[i], out var column)) return prepared;
                if (batch.Types[i] is { } seen && column.Type.Widen(seen).SqlType != column.Type.SqlType) return prepared;
            }

            if (keyColumns.Any(k => IndexOf(batch, k) < 0)) return prepared;
            Fill(prepared, current);
            return prepared;
        }

        public async Task<BatchResult> WriteAsync(PreparedBatch prepared, CancellationToken ct)
        {
            var batch = prepared.Batch;
            if (batch.Count == 0) return default;
            await EnsureTableAsync(batch, ct);
            Publish();
            foreach (var key in keyColumns)
            {
                if (IndexOf(batch, key) < 0)
                {
                    throw new InvalidOperationException($"the key column {key} is not in the data (columns: {string.Join(", ", batch.Columns)})");
                }
            }

            var current = schema!;
            if (prepared.Schema != current) Fill(prepared, current);
            var (rendered, rows, fields) = (prepared.Rendered!, prepared.Rows!, prepared.Fields!);
            await LockAsync(ct);
            try
            {
                if (straightIn && !rendered.AnyNullKey(rows))
                {
                    await using var transaction = await connection.BeginTransactionAsync(ct);
                    var (inserted, warnings) = await LoadAsync(writeTable, fields, rows, rendered, null, ignore: true, transaction, ct, prepared.Load, byDefault: ownDefaults);
                    if (inserted == rows.Count)
                    {
                        await FailOnWarningsAsync(warnings, transaction, ct);
                        await transaction.CommitAsync(ct);
                        return new BatchResult(inserted, 0);
                    }

                    // Some rows were there already: undo and sort the batch out row by row.
                    await transaction.RollbackAsync(ct);
                    straightIn = false;
                }

                // Looking keys up needs the key's index; rows written from here on name this run themselves.
                await EnsureIndexesAsync(ct);
                await DropDefaultsAsync();
                return await MergeAsync(batch, rendered, rows, fields, ct);
            }
            finally
            {
                await UnlockAsync();
            }
        }

        /// <summary>Gives a written batch's buffers back for the batches to come; returns its rows for reuse.</summary>
        public RowBatch Recycle(PreparedBatch prepared)
        {
            if (prepared.Rendered is { } rendered) renderings.Add(rendered);
            if (prepared.Load is { } text) texts.Add(text);
            (prepared.Rendered, prepared.Load, prepared.Rows, prepared.Fields, prepared.Schema) = (null, null, null, null, null);
            return prepared.Batch;
        }

        /// <summary>Renders the batch for a schema: values, hashes, the rows to write and, for the straight way in, the load text.</summary>
        private void Fill(PreparedBatch prepared, Schema current)
        {
            var batch = prepared.Batch;
            var rendered = Render(prepared, current);
            var rows = rendered.LastOfEachKey();
            var fields = batch.Columns.Select((name, i) => new Field(ColumnNames.Quote(current.Columns[name].Sql), Source.Cell, i)).ToList();
            fields.Add(new Field("_row_hash", Source.RowHash, 0));
            if (!current.NaturalKey) fields.Add(new Field("_row_key", Source.RowKey, 0));
            ByteBuffer? load = null;
            if (useBulk && straightIn)
            {
                load = prepared.Load ?? (texts.TryTake(out var spare) ? spare : new ByteBuffer(1 << 16));
                load.Clear();
                rendered.WriteTabSeparated(load, Parts(fields), rows, null, current.RowHashBytes);
            }

            (prepared.Schema, prepared.Rendered, prepared.Rows, prepared.Fields, prepared.Load) = (current, rendered, rows, fields, load);
        }

        /// <summary>Makes the table's columns as they are now visible to <see cref="Prepare"/>.</summary>
        private void Publish()
        {
            var current = schema;
            if (current is not null && current.NaturalKey == naturalKey && current.RowHashBytes == rowHashBytes && current.Columns.Count == columns.Count
                && columns.All(c => current.Columns.TryGetValue(c.Key, out var known) && known == c.Value))
            {
                return;
            }

            schema = new Schema(new Dictionary<string, (string, ColumnType)>(columns, StringComparer.Ordinal), naturalKey, rowHashBytes);
        }

        /// <summary>The table's columns at one moment; a new instance after every change.</summary>
        internal sealed record Schema(IReadOnlyDictionary<string, (string Sql, ColumnType Type)> Columns, bool NaturalKey, int RowHashBytes);

        private static (Rendered.Part, int)[] Parts(IReadOnlyList<Field> fields) => fields.Select(f => (f.Source switch
        {
            Source.Cell => Rendered.Part.Cell,
            Source.RowHash => Rendered.Part.Hash,
            Source.RowKey => Rendered.Part.Key,
            Source.Ordinal => Rendered.Part.Ordinal,
            _ => Rendered.Part.Id,
        }, f.Index)).ToArray();

        /// <summary>Looks the batch's keys up, loads the new rows, updates the changed ones by id.</summary>
        private async Task<BatchResult> MergeAsync(RowBatch batch, Rendered rendered, List<int> rows, List<Field> fields, CancellationToken ct)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var target = ColumnNames.Quote(writeTable);
            var probe = "prb_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var stage = "stg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            try
            {
                List<Field> probeFields = [new("n", Source.Ordinal, 0)];
                string probeColumns, match;
                if (naturalKey)
                {
                    var keys = keyColumns.Select(k => (Column: ColumnNames.Quote(columns[k].Sql), Type: columns[k].Type.SqlType, Index: IndexOf(batch, k))).ToList();
                    probeColumns = string.Join(", ", keys.Select(k => $"{k.Column} {k.Type} NULL"));
                    match = string.Join(" AND ", keys.Select(k => $"t.{k.Column} <=> p.{k.Column}"));
                    probeFields.AddRange(keys.Select(k => new Field(k.Column, Source.Cell, k.Index)));
                }
                else
                {
                    probeColumns = $"_row_key BINARY({rowKeyBytes}) NOT NULL";
                    match = "t._row_key = p._row_key";
                    probeFields.Add(new Field("_row_key", Source.RowKey, 0));
                }

                await ExecuteAsync($"CREATE TEMPORARY TABLE {probe} (n INT NOT NULL PRIMARY KEY, {probeColumns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
                await LoadAsync(probe, probeFields, rows, rendered, null, ignore: false, transaction, ct);
                found.Clear();
                fresh.Clear();
                changed.Clear();
                if (ids.Length < rendered.Count) ids = new long[rendered.Count];
                var stored = new byte[32];
                await using (var command = new MySqlCommand($"SELECT p.n, t.id, t._row_hash FROM {probe} p JOIN {target} t ON {match}", connection, transaction) { CommandTimeout = 0 })
                await using (var reader = await command.ExecuteReaderAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                        var length = (int)reader.GetBytes(2, 0, stored, 0, stored.Length);
                        Array.Clear(stored, length, stored.Length - length);
                        found.TryAdd(reader.GetInt32(0), (reader.GetInt64(1), new UInt128(BitConverter.ToUInt64(stored, 0), BitConverter.ToUInt64(stored, 8))));
                    }
                }

                foreach (var row in rows)
                {
                    if (!found.TryGetValue(row, out var existing)) fresh.Add(row);
                    else if (rendered.HashId(row) != existing.Hash)
                    {
                        changed.Add(row);
                        ids[row] = existing.Id;
                    }
                }

                long inserted = 0;
                if (fresh.Count > 0)
                {
                    (inserted, var warnings) = await LoadAsync(writeTable, fields, fresh, rendered, null, ignore: true, transaction, ct);
                    if (inserted != fresh.Count)
                    {
                        throw new InvalidOperationException($"the server took {inserted} of {fresh.Count} new rows into {writeTable}: {await WarningsAsync(transaction, ct)}");
                    }

                    await FailOnWarningsAsync(warnings, transaction, ct);
                }

                if (changed.Count > 0)
                {
                    var valueColumns = fields.Where(f => f.Source == Source.Cell).ToList();
                    var definitions = valueColumns.Select(f => $"{f.Column} {columns[batch.Columns[f.Index]].Type.SqlType} NULL");
                    await ExecuteAsync($"CREATE TEMPORARY TABLE {stage} (id BIGINT NOT NULL PRIMARY KEY, {string.Join(", ", definitions)}, _row_hash BINARY({rowHashBytes}) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci", transaction, ct);
                    var (_, warnings) = await LoadAsync(stage, [new("id", Source.Id, 0), .. valueColumns, new("_row_hash", Source.RowHash, 0)], changed, rendered, ids, ignore: false, transaction, ct);
                    await FailOnWarningsAsync(warnings, transaction, ct);
                    var assignments = valueColumns.Select(f => $"t.{f.Column} = s.{f.Column}").Append("t._row_hash = s._row_hash")
                        .Append("t._execution_id = @executionId").Append("t._collected_at = @now");
                    await connection.ExecuteAsync(new CommandDefinition($"UPDATE {target} t JOIN {stage} s ON t.id = s.id SET {string.Join(", ", assignments)}",
                        new { executionId, now = time.GetUtcNow().UtcDateTime }, transaction, commandTimeout: 0, cancellationToken: ct));
                }

                await transaction.CommitAsync(ct);
                straightIn = found.Count == 0;
                return new BatchResult(inserted, changed.Count);
            }
            finally
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TEMPORARY TABLE IF EXISTS {probe}, {stage}", cancellationToken: CancellationToken.None));
            }
        }

        private static int IndexOf(RowBatch batch, string column)
        {
            for (var i = 0; i < batch.Columns.Count; i++)
            {
                if (batch.Columns[i] == column) return i;
            }

            return -1;
        }

        /// <summary>Replace mode: swaps the new table in atomically. The others: nothing to do.</summary>
        public async Task<long> FinishAsync(CancellationToken ct)
        {
            await LockAsync(ct);
            try
            {
                await EnsureIndexesAsync(ct);
            }
            finally
            {
                await UnlockAsync();
            }

            await DropDefaultsAsync();

            IReadOnlyList<BrowsingIndex> carried = [];
            if (plan.WriteMode == WriteModes.Replace && exists)
            {
                var target = ColumnNames.Quote(plan.TargetTable);
                var fresh = ColumnNames.Quote(writeTable);
                if (await TableExistsAsync(plan.TargetTable, ct))
                {
                    carried = await SortIndexesAsync(plan.TargetTable, ct);
                    var old = ColumnNames.Quote(writeTable[..Math.Min(writeTable.Length, 55)] + "_old");
                    await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {old}", cancellationToken: ct));
                    await connection.ExecuteAsync(new CommandDefinition($"RENAME TABLE {target} TO {old}, {fresh} TO {target}", cancellationToken: ct));
                    await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE {old}", cancellationToken: ct));
                }
                else
                {
                    await connection.ExecuteAsync(new CommandDefinition($"RENAME TABLE {fresh} TO {target}", cancellationToken: ct));
                }
            }

            if (!await TableExistsAsync(plan.TargetTable, ct)) return 0;
            BrowsingIndexes = [.. await MissingBrowsingIndexesAsync(ct), .. await StillApplicableAsync(carried, ct)];
            return await CountAsync(plan.TargetTable, ct);
        }

        /// <summary>Replace mode, after a failure: the half-filled new table goes; the old one was never touched.</summary>
        public async Task AbandonAsync()
        {
            if (plan.WriteMode == WriteModes.Replace)
            {
                await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS {ColumnNames.Quote(writeTable)}"));
                return;
            }

            try
            {
                // The rows written before the failure stay; so must the index that keeps their keys unique.
                await EnsureIndexesAsync(CancellationToken.None);
                await DropDefaultsAsync();
                if (await TableExistsAsync(writeTable, CancellationToken.None)) BrowsingIndexes = await MissingBrowsingIndexesAsync(CancellationToken.None);
            }
            catch (MySqlException)
            {
                // The next run on this table sees the index missing and builds it.
            }
        }

        public async Task<long> FinishCountOnlyAsync(string table) =>
            await TableExistsAsync(table, CancellationToken.None) ? await CountAsync(table, CancellationToken.None) : 0;

        public ValueTask DisposeAsync() => connection.DisposeAsync();

        /// <summary>
        /// Every value as the text MySQL reads for its column's type, and each row's hash and key. The hash covers
        /// the non-null values by column name, so a column that appears later (null in old rows) leaves old rows'
        /// hashes alone.
        /// </summary>
        private Rendered Render(PreparedBatch prepared, Schema current)
        {
            var batch = prepared.Batch;
            var kinds = batch.Columns.Select(c => current.Columns[c].Type.Kind).ToArray();
            var byName = Enumerable.Range(0, batch.Columns.Count).OrderBy(i => batch.Columns[i], StringComparer.Ordinal).ToArray();
            var keyIndexes = keyColumns.Select(k => IndexOf(batch, k)).ToArray();
            var rendered = prepared.Rendered ?? (renderings.TryTake(out var spare) ? spare : new Rendered());
            rendered.Reset(batch.Count, batch.Columns.Count, batch.ArenaBytes + batch.Count * 8);
            var input = new ByteBuffer(1024);
            for (var row = 0; row < batch.Count; row++)
            {
                for (var c = 0; c < kinds.Length; c++)
                {
                    if (batch.TryGet(row, c, out var value, out var kind)) rendered.SetCell(row, c, value, kind, kinds[c]);
                    else rendered.SetNull(row, c);
                }

                input.Clear();
                foreach (var c in byName) rendered.AppendHashInput(row, c, batch.Utf8Names[c], input);
                var hash = rendered.HashSlot(row);
                System.IO.Hashing.XxHash128.Hash(input.Written, hash);
                if (keyIndexes.Length == 0)
                {
                    hash.CopyTo(rendered.KeySlot(row));
                }
                else
                {
                    input.Clear();
                    foreach (var c in keyIndexes) rendered.AppendHashInput(row, c, batch.Utf8Names[c], input, nullMarker: true);
                    System.IO.Hashing.XxHash128.Hash(input.Written, rendered.KeySlot(row));
                    if (current.NaturalKey) rendered.NoteKeyNulls(row, keyIndexes);
                }
            }

            return rendered;
        }

        internal enum Source { Cell, RowHash, RowKey, Ordinal, Id }

        internal sealed record Field(string Column, Source Source, int Index);

        /// <summary>
        /// Loads rows into a table: LOAD DATA LOCAL INFILE from a tab-separated stream built here, or multi-row
        /// INSERTs when the server refuses local files. Every row also gets this execution's id and time.
        /// Returns the rows the server took and its warning count.
        /// </summary>
        private async Task<(long Rows, long Warnings)> LoadAsync(string table, IReadOnlyList<Field> fields, IReadOnlyList<int> rows, Rendered rendered,
            long[]? ids, bool ignore, MySqlTransaction transaction, CancellationToken ct, ByteBuffer? prebuilt = null, bool byDefault = false)
        {
            var bookkeeping = table == writeTable;
            var now = time.GetUtcNow().UtcDateTime;
            if (useBulk)
            {
                try
                {
                    var text = prebuilt;
                    if (text is null)
                    {
                        load.Clear();
                        rendered.WriteTabSeparated(load, Parts(fields), rows, ids, rowHashBytes);
                        text = load;
                    }

                    var loader = new MySqlBulkLoader(connection)
                    {
                        TableName = table == writeTable ? ColumnNames.Quote(table) : table,
                        // The loader closes the stream it is given: a view of the reused buffer, not the buffer itself.
                        SourceStream = new MemoryStream(text.Array, 0, text.Length, writable: false),
                        Local = true,
                        CharacterSet = "utf8mb4",
                        FieldTerminator = "\t",
                        LineTerminator = "\n",
                        EscapeCharacter = '\\',
                        ConflictOption = ignore ? MySqlBulkLoaderConflictOption.Ignore : MySqlBulkLoaderConflictOption.None,
                        Timeout = 0,
                    };
                    for (var i = 0; i < fields.Count; i++)
                    {
                        if (fields[i].Source is Source.RowHash or Source.RowKey)
                        {
                            loader.Columns.Add($"@v{i}");
                            loader.Expressions.Add($"{fields[i].Column} = UNHEX(@v{i})");
                        }
                        else
                        {
                            loader.Columns.Add(fields[i].Column);
                        }
                    }

                    if (bookkeeping && !byDefault)
                    {
                        loader.Expressions.Add($"_execution_id = {Literal(executionId)}");
                        loader.Expressions.Add($"_collected_at = '{now:yyyy-MM-dd HH:mm:ss.ffffff}'");
                    }

                    var taken = await loader.LoadAsync(ct);
                    var warnings = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
                    return (taken, warnings);
                }
                catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.NotAllowedCommand || e.Message.Contains("local", StringComparison.OrdinalIgnoreCase))
                {
                    // The server forbids LOCAL INFILE: multi-row INSERTs from now on.
                    useBulk = false;
                }
                catch (NotSupportedException)
                {
                    useBulk = false;
                }
            }

            var names = fields.Select(f => f.Column).ToList();
            if (bookkeeping) names.AddRange(["_execution_id", "_collected_at"]);
            long total = 0, warningCount = 0;
            const int chunk = 500;
            for (var start = 0; start < rows.Count; start += chunk)
            {
                await using var command = new MySqlCommand { Connection = connection, Transaction = transaction, CommandTimeout = 0 };
                command.Parameters.AddWithValue("@e", executionId);
                command.Parameters.AddWithValue("@now", now);
                var tuples = new StringBuilder();
                for (var r = start; r < Math.Min(rows.Count, start + chunk); r++)
                {
                    var row = rows[r];
                    tuples.Append(tuples.Length == 0 ? "(" : ",(");
                    for (var f = 0; f < fields.Count; f++)
                    {
                        var parameter = $"@p{r - start}_{f}";
                        tuples.Append(f == 0 ? parameter : "," + parameter);
                        command.Parameters.AddWithValue(parameter, fields[f].Source switch
                        {
                            Source.Cell => rendered.Text(row, fields[f].Index) ?? (object)DBNull.Value,
                            Source.RowHash => rendered.Hash(row)[..Math.Min(rowHashBytes, Rendered.HashBytes)].ToArray(),
                            Source.RowKey => rendered.Key(row).ToArray(),
                            Source.Ordinal => row,
                            _ => ids![row],
                        });
                    }

                    tuples.Append(bookkeeping ? ",@e,@now)" : ")");
                }

                command.CommandText = $"INSERT {(ignore ? "IGNORE " : "")}INTO {(bookkeeping ? ColumnNames.Quote(table) : table)} ({string.Join(", ", names)}) VALUES {tuples}";
                total += await command.ExecuteNonQueryAsync(ct);
                warningCount += await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT @@warning_count", transaction: transaction, cancellationToken: ct));
            }

            return (total, warningCount);
        }

        /// <summary>A load that took every row may still have bent values to fit (truncation, bad dates): that is a failure.</summary>
        private async Task FailOnWarningsAsync(long warnings, MySqlTransaction transaction, CancellationToken ct)
        {
            if (warnings == 0) return;
            throw new InvalidOperationException($"the server changed values while loading into {writeTable}: {await WarningsAsync(transaction, ct)}");
        }

        private async Task<string> WarningsAsync(MySqlTransaction transaction, CancellationToken ct)
        {
            var warnings = await connection.QueryAsync<(string Level, long Code, string Message)>(new CommandDefinition("SHOW WARNINGS LIMIT 3", transaction: transaction, cancellationToken: ct));
            return string.Join("; ", warnings.Select(w => $"{w.Code} {w.Message}"));
        }

        private Task ExecuteAsync(string sql, MySqlTransaction transaction, CancellationToken ct) =>
            connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, commandTimeout: 0, cancellationToken: ct));

        /// <summary>Writers of one table take turns batch by batch, so a key is looked up and written as one step.</summary>
        private string LockName => WriteLockName(connection.Database, writeTable);

        private async Task LockAsync(CancellationToken ct)
        {
            var got = await connection.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT GET_LOCK(@name, 600)", new { name = LockName }, cancellationToken: ct));
            if (got != 1) throw new InvalidOperationException($"another run kept {writeTable} locked for 10 minutes");
        }

        private async Task UnlockAsync() =>
            await connection.ExecuteAsync(new CommandDefinition("DO RELEASE_LOCK(@name)", new { name = LockName }));

        private async Task EnsureTableAsync(RowBatch batch, CancellationToken ct)
        {
            var definitions = new List<string>();
            var taken = columns.Values.Select(c => c.Sql).ToList();
            for (var i = 0; i < batch.Columns.Count; i++)
            {
                var original = batch.Columns[i];
                var seen = batch.Types[i];
                if (columns.TryGetValue(original, out var existing))
                {
                    // A batch with only nulls in a column says nothing about its type.
                    if (seen is not { } type) continue;
                    var wider = existing.Type.Widen(type);
                    if (wider.SqlType != existing.Type.SqlType && (wider.Kind != existing.Type.Kind || wider.TextLength > existing.Type.TextLength))
                    {
                        columns[original] = (existing.Sql, wider);
                        if (exists)
                        {
                            definitions.Add($"MODIFY COLUMN {ColumnNames.Quote(existing.Sql)} {wider.SqlType} NULL COMMENT {Literal(original)}");
                            ColumnsWidened++;
                        }
                    }

                    continue;
                }

                // A name whose comment could not carry it whole is still found by its deterministic SQL name.
                var known = columns.FirstOrDefault(c => c.Value.Sql == ColumnNames.ToSql(original, []));
                if (known.Key is not null && !batch.Columns.Contains(known.Key))
                {
                    columns.Remove(known.Key);
                    columns[original] = known.Value;
                    continue;
                }

                var sql = ColumnNames.ToSql(original, taken);
                taken.Add(sql);
                // A column that is null in the whole batch still exists: as short text until values say otherwise.
                var created = seen ?? new ColumnType(ColumnKind.Text, 16);
                columns[original] = (sql, created);
                if (exists)
                {
                    definitions.Add($"ADD COLUMN {ColumnNames.Quote(sql)} {created.SqlType} NULL COMMENT {Literal(original)}");
                    ColumnsAdded++;
                }
            }

            if (!exists)
            {
                naturalKey = KeyIsIndexable();
                var data = columns.Select(c => $"{ColumnNames.Quote(c.Value.Sql)} {c.Value.Type.SqlType} NULL COMMENT {Literal(c.Key)}");
                // A new table gets its natural-key indexes after the run's rows are in (see EnsureIndexesAsync).
                var key = naturalKey
                    ? ""
                    : $",\n  _row_key BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of the natural key (of all values in append and replace mode)',\n  UNIQUE KEY ux_row_key (_row_key)";
                await connection.ExecuteAsync(new CommandDefinition($"""
                    CREATE TABLE IF NOT EXISTS {ColumnNames.Quote(writeTable)} (
                      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                      {string.Join(",\n  ", data)},
                      _execution_id VARCHAR(40) NOT NULL DEFAULT {Literal(executionId)} COMMENT 'the execution that last wrote the row',
                      _collected_at DATETIME(6) NOT NULL DEFAULT '{time.GetUtcNow().UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}' COMMENT 'when (UTC)',
                      _row_hash BINARY({NewRowHashBytes}) NOT NULL COMMENT 'XXH128 of all non-null values'{key}
                    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT={Literal(plan.DisplayName ?? plan.InterfaceName)}
                    """, cancellationToken: ct));
                exists = true;
                TableCreated = plan.WriteMode != WriteModes.Replace || RowsBefore == 0;
                if (shared)
                {
                    ownDefaults = true;
                    await DropDefaultsAsync();
                }

                // Another run may have created it first, with columns this batch lacks: take the table as it is.
                columns.Clear();
                await LoadColumnsAsync(ct);
                await EnsureTableAsync(batch, ct);
                return;
            }
            else if (definitions.Count > 0)
            {
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"ALTER TABLE {ColumnNames.Quote(writeTable)} {string.Join(", ", definitions)}", commandTimeout: 0, cancellationToken: ct));
                }
                catch (MySqlException e) when (e.Number == 1060 && !retriedDdl)
                {
                    // A concurrent run on the same table added the column first: read the table again and redo.
                    retriedDdl = true;
                    columns.Clear();
                    await LoadColumnsAsync(ct);
                    ColumnsAdded -= definitions.Count(d => d.StartsWith("ADD", StringComparison.Ordinal));
                    await EnsureTableAsync(batch, ct);
                }
            }
        }

        /// <summary>
        /// The key columns themselves carry the unique index when they are all there and small enough for one
        /// InnoDB index (3,072 bytes). A key column that later outgrows VARCHAR(255) makes the ALTER fail, and
        /// the run with it, rather than losing the key.
        /// </summary>
        private bool KeyIsIndexable()
        {
            if (keyColumns.Count is 0 or > 16 || keyColumns.Any(k => !columns.ContainsKey(k))) return false;
            var bytes = 0;
            foreach (var key in keyColumns)
            {
                var type = columns[key].Type;
                if (type.Kind == ColumnKind.Json || (type.Kind == ColumnKind.Text && type.TextLength > 255)) return false;
                bytes += type.Kind switch { ColumnKind.Text => 4 * 255, ColumnKind.BigInteger => 30, _ => 8 };
            }

            return bytes <= 3072;
        }

        private async Task LoadColumnsAsync(CancellationToken ct)
        {
            var rows = await connection.QueryAsync<(string Name, string DataType, long? Length, string ColumnType, string Comment, long? Octets, string? Default)>(new CommandDefinition("""
                SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE, COLUMN_COMMENT, CHARACTER_OCTET_LENGTH, COLUMN_DEFAULT
                FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table ORDER BY ORDINAL_POSITION
                """, new { table = writeTable }, cancellationToken: ct));
            var hasRowKey = false;
            foreach (var row in rows)
            {
                if (row.Name == "_row_hash") rowHashBytes = (int)Math.Min(32, row.Octets ?? 32);
                if (row.Name == "_row_key") rowKeyBytes = (int)Math.Min(32, row.Octets ?? 32);
                if (row.Name == "_row_key") hasRowKey = true;
                if (row.Name == "_execution_id")
                {
                    // MariaDB quotes a string default in information_schema, MySQL does not.
                    var given = row.Default is { Length: > 0 } d && d != "NULL" ? d.Trim('\'') : null;
                    ownDefaults = given == executionId && !shared;
                }

                if (BookkeepingColumns.IsBookkeeping(row.Name)) continue;
                var original = ColumnComments.OriginalName(row.Name, row.Comment);
                var type = ColumnType.FromSql(row.DataType, row.Length, row.ColumnType);
                if (type.Kind == ColumnKind.Text && row.DataType.Equals("varchar", StringComparison.OrdinalIgnoreCase))
                {
                    type = new ColumnType(ColumnKind.Text, (int)(row.Length ?? 255));
                }

                columns[original] = (row.Name, type);
            }

            // A table made with the natural key as its unique index has no _row_key.
            naturalKey = !hasRowKey && keyColumns.Count > 0;
            if (!hasRowKey && !naturalKey)
            {
                throw new InvalidOperationException($"{writeTable} has no _row_key column, so rows cannot be told apart without a natural key; write it in upsert mode with key columns or drop it");
            }

            if (hasRowKey && plan.WriteMode == WriteModes.Upsert && KeyIsIndexable() && writeTable == plan.TargetTable)
            {
                // Written before in append mode, whose _row_key hashes the whole row, and now upserted on a key (a
                // script whose rows changed meaning on later days): the rows there get the key as the table's unique
                // index, keeping the newest of those that share it, so the upsert finds them instead of adding them again.
                await LockAsync(ct);
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"ALTER TABLE {ColumnNames.Quote(writeTable)} DROP INDEX ux_row_key, DROP COLUMN _row_key", commandTimeout: 0, cancellationToken: ct));
                }
                finally
                {
                    await UnlockAsync();
                }

                hasRowKey = false;
                naturalKey = true;
                KeyRebuilt = true;
            }

            // New, or its first run ended before the index was built: build it at the end of this one.
            indexesPending = naturalKey && !(await IndexNamesAsync(ct)).Contains("ux_natural_key");
            if (naturalKey && !indexesPending)
            {
                // The script's key changed (period added to it, say): the old index would let a row overwrite one
                // that means something else, so it is rebuilt on the new key before anything is looked up.
                var indexed = (await connection.QueryAsync<string>(new CommandDefinition("""
                    SELECT COLUMN_NAME FROM information_schema.STATISTICS
                    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND INDEX_NAME = 'ux_natural_key' ORDER BY SEQ_IN_INDEX
                    """, new { table = writeTable }, cancellationToken: ct))).ToList();
                var wanted = keyColumns.Select(k => columns.TryGetValue(k, out var c) ? c.Sql : null).ToList();
                if (!indexed.SequenceEqual(wanted, StringComparer.OrdinalIgnoreCase))
                {
                    rekey = true;
                    indexesPending = true;
                }
            }
        }

        /// <summary>
        /// The natural key's unique index, built once a new table's first rows are in: one sorted build costs a
        /// fraction of keeping the index up to date row by row through a large first load. Rows that came to
        /// share a key meanwhile (an answer repeating a key in different batches) keep the newest.
        /// Runs before any batch has to look keys up, and at the end of the run, failed or not.
        /// </summary>
        private async Task EnsureIndexesAsync(CancellationToken ct)
        {
            // A run that brought no rows may not have made a new key column yet: the next run builds the index.
            if (!indexesPending || keyColumns.Any(k => !columns.ContainsKey(k))) return;
            var keys = keyColumns.Select(k => ColumnNames.Quote(columns[k].Sql)).ToList();
            var target = ColumnNames.Quote(writeTable);
            if (rekey)
            {
                await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE {target} DROP INDEX ux_natural_key", commandTimeout: 0, cancellationToken: ct));
                KeyRebuilt = true;
                rekey = false;
            }

            for (var attempt = 1; !(await IndexNamesAsync(ct)).Contains("ux_natural_key"); attempt++)
            {
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE {target} ADD UNIQUE KEY ux_natural_key ({string.Join(", ", keys)})", commandTimeout: 0, cancellationToken: ct));
                }
                catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && attempt <= 3)
                {
                    var same = string.Join(" AND ", keys.Select(k => $"t.{k} <=> d.{k}"));
                    var removed = await connection.ExecuteAsync(new CommandDefinition($"""
                        DELETE t FROM {target} t
                        JOIN (SELECT {string.Join(", ", keys)}, MAX(id) AS newest FROM {target} GROUP BY {string.Join(", ", keys)} HAVING COUNT(*) > 1) d
                          ON {same} AND t.id < d.newest
                        """, commandTimeout: 0, cancellationToken: ct));
                    // Under a rebuilt key the rows that gave way were stored by earlier runs, not this one.
                    if (KeyRebuilt) EarlierDuplicatesRemoved += removed;
                    else DuplicatesRemoved += removed;
                }
            }

            indexesPending = false;
        }

        /// <summary>
        /// An index on each later date column of the natural key (one day across all symbols; sorting by date),
        /// missing from the table as the run leaves it. Reads need them, writes do not: the runner builds them
        /// after the execution is recorded (<see cref="AddIndexesAsync"/>).
        /// </summary>
        private async Task<IReadOnlyList<BrowsingIndex>> MissingBrowsingIndexesAsync(CancellationToken ct)
        {
            if (!naturalKey) return [];
            var names = await IndexNamesAsync(ct);
            var missing = new List<BrowsingIndex>();
            for (var i = 1; i < keyColumns.Count; i++)
            {
                if (columns.TryGetValue(keyColumns[i], out var column) && column.Type.Kind is ColumnKind.Date or ColumnKind.DateTime && !names.Contains($"ix_key_{i}"))
                {
                    missing.Add(new BrowsingIndex($"ix_key_{i}", column.Sql));
                }
            }

            return missing;
        }

        /// <summary>
        /// A table this run creates names the run and its time as the bookkeeping columns' defaults, so its
        /// first loads need not set them row by row (about 5 % of a load's cost); once the run stops loading
        /// straight in, it drops them. Only the run that set them does: another run on the table may still be
        /// loading on them. Dropping a default changes metadata only, but it waits for readers of the table (an
        /// export) — 5 s at most, after which the defaults stay. They are harmless: every other write names its
        /// execution and time itself.
        /// </summary>
        private async Task DropDefaultsAsync()
        {
            if (!ownDefaults) return;
            ownDefaults = false;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition($"""
                    SET SESSION lock_wait_timeout = 5;
                    ALTER TABLE {ColumnNames.Quote(writeTable)} ALTER COLUMN _execution_id DROP DEFAULT, ALTER COLUMN _collected_at DROP DEFAULT;
                    """));
            }
            catch (MySqlException)
            {
            }
            finally
            {
                await connection.ExecuteAsync(new CommandDefinition("SET SESSION lock_wait_timeout = DEFAULT"));
            }
        }

        /// <summary>
        /// The indexes readers had built on the table for sorting (<see cref="SortIndexPrefix"/>): a replacement
        /// table gets them again after the run, so the orders people use stay fast across replace runs.
        /// </summary>
        private async Task<IReadOnlyList<BrowsingIndex>> SortIndexesAsync(string table, CancellationToken ct) =>
            (await connection.QueryAsync<(string Name, string Column)>(new CommandDefinition("""
                SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table AND SEQ_IN_INDEX = 1
                """, new { table }, cancellationToken: ct)))
                .Where(i => i.Name.StartsWith(SortIndexPrefix, StringComparison.OrdinalIgnoreCase))
                .Select(i => new BrowsingIndex(i.Name, i.Column)).ToList();

        /// <summary>Those of <paramref name="indexes"/> whose column the table as the run left it still has.</summary>
        private async Task<IReadOnlyList<BrowsingIndex>> StillApplicableAsync(IReadOnlyList<BrowsingIndex> indexes, CancellationToken ct)
        {
            if (indexes.Count == 0) return [];
            var present = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table = plan.TargetTable }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return indexes.Where(i => present.Contains(i.Column)).ToList();
        }

        private async Task<HashSet<string>> IndexNamesAsync(CancellationToken ct) =>
            (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table = writeTable }, cancellationToken: ct))).ToHashSet(StringComparer.OrdinalIgnoreCase);

        private async Task<bool> TableExistsAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @table",
                new { table }, cancellationToken: ct)) > 0;

        private async Task<long> CountAsync(string table, CancellationToken ct) =>
            await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {ColumnNames.Quote(table)}", commandTimeout: 0, cancellationToken: ct));

        /// <summary>
        /// A string literal for COMMENT clauses. Comments live in the data dictionary as 3-byte UTF-8, so a name
        /// with characters beyond the BMP (emoji) is kept JSON-escaped behind "json:"; both the backslash and
        /// the quote are escaped (the server's default SQL mode reads backslash escapes).
        /// </summary>
        private static string Literal(string text)
        {
            if (text.Any(char.IsSurrogate) || text.Contains('\0', StringComparison.Ordinal) || text.StartsWith("json:", StringComparison.Ordinal))
            {
                text = "json:" + JsonSerializer.Serialize(text, AsciiJson);
            }

            return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
        }

        private static string FromComment(string comment) =>
            comment.StartsWith("json:", StringComparison.Ordinal) ? JsonSerializer.Deserialize<string>(comment[5..]) ?? comment : comment;

        private static readonly JsonSerializerOptions AsciiJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default };
    }

    /// <summary>A batch with its rendering, made ahead of its turn.</summary>
    public sealed class PreparedBatch(RowBatch batch)
    {
        public RowBatch Batch { get; } = batch;
        internal TableWrite.Schema? Schema { get; set; }
        internal Rendered? Rendered { get; set; }
        internal List<int>? Rows { get; set; }
        internal List<TableWrite.Field>? Fields { get; set; }
        internal ByteBuffer? Load { get; set; }
    }
}
