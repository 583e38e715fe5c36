namespace AkshareWeb.Features.Collection;

/// <summary>A growable byte buffer that is reused row after row.</summary>
internal sealed class ByteBuffer(int capacity)
{
    private byte[] bytes = new byte[capacity];
    private int length;

    public ReadOnlySpan<byte> Written => bytes.AsSpan(0, length);
    public byte[] Array => bytes;
    public int Length => length;

    public void Clear() => length = 0;

    public void Append(byte value)
    {
        if (length == bytes.Length) System.Array.Resize(ref bytes, bytes.Length * 2);
        bytes[length++] = value;
    }

    public void Append(ReadOnlySpan<byte> value) => value.CopyTo(Grow(value.Length));

    /// <summary>The next <paramref name="count"/> bytes, counted as written.</summary>
    public Span<byte> Grow(int count)
    {
        if (length + count > bytes.Length) System.Array.Resize(ref bytes, Math.Max(bytes.Length * 2, length + count));
        var span = bytes.AsSpan(length, count);
        length += count;
        return span;
    }
}
