namespace AkshareWeb.Console.Tests;

/// <summary>Registration by approval, in Chromium: the form says so, the new account is refused at sign-in with the
/// service's words until an admin approves it in Users, then signs in.</summary>
public sealed class ApprovalRegistrationBrowserTests(ApprovalConsoleApp service) : IClassFixture<ApprovalConsoleApp>
{
    [Fact]
    public Task A_registration_waits_for_an_admin_to_approve_it_in_users() =>
        ConsoleScenario.RunAsync("approval", service.BaseAddress);
}

/// <summary>Closed registration, in Chromium: no way to register is offered, and the registration page says why.</summary>
public sealed class ClosedRegistrationBrowserTests(ClosedConsoleApp service) : IClassFixture<ClosedConsoleApp>
{
    [Fact]
    public Task Closed_registration_offers_no_form() => ConsoleScenario.RunAsync("closed", service.BaseAddress);
}
