using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace AkshareWeb.Features.Common;

/// <summary>A page of a list endpoint, as the contract's "分页" section shapes it.</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, long Total, int Page, int PageSize, int TotalPages)
{
    public static Paged<T> Of(IReadOnlyList<T> items, long total, PageRequest request) =>
        new(items, total, request.Page, request.PageSize,
            total == 0 ? 0 : (int)Math.Min(int.MaxValue, (total + request.PageSize - 1) / request.PageSize));
}

/// <summary>The paging query of every list: <c>page</c> from 1, <c>page_size</c> 1..100.</summary>
public sealed record PageRequest(int Page, int PageSize)
{
    public const int MaxPageSize = 100;

    public int Offset => (Page - 1) * PageSize;
}

public sealed class PageRequestValidator : AbstractValidator<PageRequest>
{
    public PageRequestValidator()
    {
        RuleFor(p => p.Page).GreaterThanOrEqualTo(1).OverridePropertyName("page");
        RuleFor(p => p.PageSize).InclusiveBetween(1, PageRequest.MaxPageSize).OverridePropertyName("page_size");
        // A page beyond this would overflow the offset arithmetic long before it is useful.
        RuleFor(p => p.Page).LessThanOrEqualTo(1_000_000).OverridePropertyName("page");
    }
}

/// <summary>The paging part of a list's query string; each list's parameters derive from it.</summary>
public class PageParameters
{
    [FromQuery(Name = "page")] public int? Page { get; init; }
    [FromQuery(Name = "page_size")] public int? PageSize { get; init; }

    public PageRequest ToRequest(int defaultPageSize = 20) => new(Page ?? 1, PageSize ?? defaultPageSize);
}

public static class PagingRules
{
    /// <summary>page and page_size checked, and reported under those names.</summary>
    public static void RuleForPaging<T>(this AbstractValidator<T> validator, System.Linq.Expressions.Expression<Func<T, PageRequest>> paging) =>
        validator.RuleFor(paging).SetValidator(new PageRequestValidator()).OverridePropertyName("");

    /// <summary>A list's optional status filter: absent, or one of <paramref name="statuses"/>, named in the message.</summary>
    public static void RuleForStatusFilter<T>(
        this AbstractValidator<T> validator, System.Linq.Expressions.Expression<Func<T, string?>> status, IReadOnlyCollection<string> statuses) =>
        validator.RuleFor(status).Must(s => s is null || statuses.Contains(s))
            .WithMessage("status must be one of " + string.Join(", ", statuses));
}
