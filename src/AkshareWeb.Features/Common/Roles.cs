namespace AkshareWeb.Features.Common;

/// <summary>Roles of the API contract.</summary>
public static class Roles
{
    public const string User = "user";
    public const string Admin = "admin";
    public const string AdminPolicy = "admin";

    public static readonly string[] All = [User, Admin];
}

/// <summary>Claim names inside our access tokens.</summary>
public static class TokenClaims
{
    public const string Subject = "sub";
    public const string Role = "role";
    public const string TokenId = "jti";
    public const string Session = "sid";
    public const string TokenVersion = "tv";
}
