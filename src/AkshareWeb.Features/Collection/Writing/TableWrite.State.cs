using System.Collections.Concurrent;

namespace AkshareWeb.Features.Collection;

public sealed partial class WarehouseWriter
{
    public sealed partial class TableWrite
    {
        /// <summary>The width of <c>_row_hash</c> and <c>_row_key</c> in a table this engine creates.</summary>
        private const int NewRowHashBytes = 16;

        /// <summary>What the write is for: fixed for its whole life.</summary>
        /// <param name="Table">The table the rows go into: the target, or in replace mode a fresh table swapped in at the end.</param>
        /// <param name="KeyColumns">The natural key (upsert mode only).</param>
        /// <param name="Shared">Several writes of the one run at once (a parted run on two instances).</param>
        private sealed record WriteTarget(TableDestination Destination, string ExecutionId, string Table, IReadOnlyList<string> KeyColumns, bool Shared);

        /// <summary>The table as this write knows it.</summary>
        private sealed class TableShape
        {
            private Schema? published;

            /// <summary>Original name -> (SQL name, type), as the table has them now.</summary>
            public Dictionary<string, (string Sql, ColumnType Type)> Columns { get; } = new(StringComparer.Ordinal);

            public bool Exists { get; set; }

            /// <summary>The key columns themselves carry the unique index (else <c>_row_key</c> does).</summary>
            public bool NaturalKey { get; set; }

            public int RowHashBytes { get; set; } = NewRowHashBytes;

            public int RowKeyBytes { get; set; } = NewRowHashBytes;

            /// <summary>A column add that raced another run's has been redone once.</summary>
            public bool RetriedDdl { get; set; }

            /// <summary>The columns as <see cref="Prepare"/> on the reading side sees them (see <see cref="Publish"/>).</summary>
            public Schema? Published
            {
                get => Volatile.Read(ref published);
                set => Volatile.Write(ref published, value);
            }
        }

        /// <summary>The natural key's unique index, when it is still to be (re)built (see <see cref="EnsureIndexesAsync"/>).</summary>
        private sealed class KeyIndexState
        {
            public bool Pending { get; set; }

            /// <summary>The index there is on another key than the script's: dropped before it is built again.</summary>
            public bool Rekey { get; set; }
        }

        /// <summary>How batches go in.</summary>
        private sealed class LoadPath
        {
            /// <summary>LOAD DATA LOCAL INFILE; off once the server refuses it (multi-row INSERTs then).</summary>
            public bool UseBulk { get; set; }

            /// <summary>While the table has had none of the rows seen so far, batches go straight in.</summary>
            public bool StraightIn { get; set; }

            /// <summary>The bookkeeping columns' defaults name this run (it created the table); see <see cref="DropDefaultsAsync"/>.</summary>
            public bool OwnDefaults { get; set; }
        }

        /// <summary>Buffers reused batch after batch (see <see cref="Rendered"/>).</summary>
        private sealed class BatchBuffers
        {
            /// <summary>The load text of a batch not rendered ahead.</summary>
            public ByteBuffer Load { get; } = new(1 << 16);

            // The merge's bookkeeping.
            public Dictionary<int, (long Id, UInt128 Hash)> Found { get; } = [];
            public List<int> Fresh { get; } = [];
            public List<int> Changed { get; } = [];
            public long[] Ids { get; set; } = [];

            // Given back by Recycle for the batches to come; taken from both threads.
            public ConcurrentBag<Rendered> Renderings { get; } = [];
            public ConcurrentBag<ByteBuffer> Texts { get; } = [];
        }

        /// <summary>The table's columns at one moment; a new instance after every change.</summary>
        internal sealed record Schema(IReadOnlyDictionary<string, (string Sql, ColumnType Type)> Columns, bool NaturalKey, int RowHashBytes);
    }
}
