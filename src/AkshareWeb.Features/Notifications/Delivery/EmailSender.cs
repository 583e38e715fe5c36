using System.Globalization;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace AkshareWeb.Features.Notifications;

/// <summary>
/// Email channels over SMTP with MailKit. The socket is opened by <see cref="TargetGuard"/> to an address it has just
/// checked and handed to MailKit, which runs STARTTLS or implicit TLS over it (certificates checked against the
/// configured host name) and the login; a password is never sent in clear (the channel rules refuse that pairing).
/// </summary>
public sealed class EmailSender(TargetGuard guard, TimeProvider time)
{
    public async Task<SendOutcome> SendAsync(ChannelTarget target, OutgoingMessage message, TimeSpan timeout, string? publicUrl, CancellationToken ct)
    {
        var server = target.Smtp!;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        using var smtp = new SmtpClient { Timeout = (int)timeout.TotalMilliseconds };
        Socket? socket = null;
        try
        {
            socket = await guard.ConnectAsync(server.Host, server.Port, limit.Token);
            await smtp.ConnectAsync(socket, server.Host, server.Port, Security(server.Security), limit.Token);
            if (server.Username is not null && target.SmtpPassword is not null)
            {
                await smtp.AuthenticateAsync(server.Username, target.SmtpPassword, limit.Token);
            }

            await smtp.SendAsync(Mail(server, message, publicUrl), limit.Token);
            await smtp.DisconnectAsync(true, limit.Token);
            return SendOutcome.Delivered;
        }
        catch (TargetRefusedException e)
        {
            return SendOutcome.Never("refused: " + e.Message);
        }
        catch (AuthenticationException)
        {
            return SendOutcome.Never($"{server.Host} refused the login of {server.Username}");
        }
        catch (SmtpCommandException e)
        {
            // 5xx is the server's final word (a refused sender or recipient); 4xx asks to come back later.
            var error = $"{server.Host} answered {(int)e.StatusCode}: {Notifier.Cut(e.Message, 200)}";
            return (int)e.StatusCode >= 500 ? SendOutcome.Never(error) : SendOutcome.Again(error);
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or SslHandshakeException or ServiceNotConnectedException)
        {
            return SendOutcome.Again($"could not send through {server.Host}:{server.Port}: {(e is SocketException s ? s.SocketErrorCode.ToString() : e.GetType().Name)}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SendOutcome.Again($"no answer from {server.Host}:{server.Port} within {timeout.TotalSeconds:0} s");
        }
        finally
        {
            // MailKit owns the socket once connected; one it never took is closed here.
            if (!smtp.IsConnected) socket?.Dispose();
        }
    }

    private static SecureSocketOptions Security(string security) => security switch
    {
        SmtpSecurity.Ssl => SecureSocketOptions.SslOnConnect,
        SmtpSecurity.None => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTls,
    };

    private MimeMessage Mail(SmtpServer server, OutgoingMessage message, string? publicUrl)
    {
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse(server.From));
        foreach (var to in server.To) mail.To.Add(MailboxAddress.Parse(to));
        mail.Subject = ChannelPayloads.Heading(message);
        mail.Date = time.GetUtcNow();
        mail.Headers.Add("X-AkshareWeb-Event", message.Event);
        mail.Headers.Add("X-AkshareWeb-Delivery", message.DeliveryId.ToString(CultureInfo.InvariantCulture));
        var text = new StringBuilder();
        foreach (var line in ChannelPayloads.Lines(message, publicUrl)) text.Append(line).Append('\n');
        text.Append('\n').Append("event: ").Append(message.Event).Append(", at ").Append(message.OccurredAt.ToString("u", CultureInfo.InvariantCulture)).Append('\n');
        mail.Body = new TextPart("plain") { Text = text.ToString() };
        return mail;
    }
}
