using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Auth;

/// <summary>A sign-in page asks, without a token, whether and how people may register.</summary>
public sealed class GetRegistrationModeTests(AkshareWebApp open, ClosedRegistrationApp closed, ApprovalRegistrationApp approval)
    : IClassFixture<AkshareWebApp>, IClassFixture<ClosedRegistrationApp>, IClassFixture<ApprovalRegistrationApp>
{
    [Fact]
    public async Task The_mode_is_answered_to_anyone()
    {
        foreach (var (app, mode) in new (AkshareWebApp, string)[] { (open, "open"), (closed, "closed"), (approval, "approval") })
        {
            var body = await (await app.CreateClient().GetAsync("/api/auth/registration")).ExpectAsync(200, 0);
            Assert.Equal(mode, body["data"]!["mode"]!.GetValue<string>());
        }
    }
}
