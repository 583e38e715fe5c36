using FluentValidation;
using Mediator;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Runs every FluentValidation validator of a message before its handler; failures become the 422 envelope
/// (code 3001) with each failing field, named as the client spelled it, in <c>detail</c>.
/// </summary>
public sealed class ValidationBehavior<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public async ValueTask<TResponse> Handle(
        TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        List<FieldError>? errors = null;
        foreach (var validator in validators)
        {
            var result = await validator.ValidateAsync(message, cancellationToken);
            foreach (var failure in result.Errors)
            {
                (errors ??= []).Add(new FieldError(JsonNames.Of(failure.PropertyName), failure.ErrorMessage));
            }
        }

        if (errors is not null)
        {
            throw new ApiError(422, ErrorCodes.ValidationFailed, "validation failed", errors);
        }

        return await next(message, cancellationToken);
    }
}

/// <summary>Maps C# property paths (<c>Paging.PageSize</c>) to the snake_case names clients send.</summary>
public static class JsonNames
{
    public static string Of(string propertyPath) =>
        string.Join('.', propertyPath.Split('.').Select(part =>
            part.Length > 0 && char.IsUpper(part[0])
                ? System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(part)
                : part));
}
