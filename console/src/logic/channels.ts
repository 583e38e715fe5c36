import type { Schemas } from "@/api";

export type Channel = Schemas["ChannelView"];
export type ChannelType = Schemas["ChannelType"];
export type NotificationEvent = Schemas["NotificationEvent"];

export const channelTypes: ChannelType[] = ["webhook", "dingtalk", "wecom", "feishu", "slack", "email"];
export const subscribableEvents: NotificationEvent[] = ["run_failed", "task_failing", "site_paused", "instance_lost", "table_gaps"];
export const deliveredEvents: Schemas["DeliveredEvent"][] = [...subscribableEvents, "test", "summary"];
export const deliveryStatuses: Schemas["DeliveryStatus"][] = ["pending", "sending", "sent", "failed", "summarised"];
export const smtpSecurities: Schemas["SmtpSecurity"][] = ["starttls", "ssl", "none"];

/** WeCom and Slack robots: the key in their URL is the whole credential, the API refuses a secret for them. */
export function takesSecret(type: ChannelType): boolean {
  return type === "webhook" || type === "dingtalk" || type === "feishu";
}

/**
 * What the channel dialog edits. Secrets are write-only: the form starts them empty, and empty means "keep what is
 * stored" unless the matching remove box is ticked (the API removes a secret sent as "").
 */
export interface ChannelForm {
  name: string;
  type: ChannelType;
  url: string;
  secret: string;
  removeSecret: boolean;
  events: NotificationEvent[];
  scope: Schemas["ChannelScope"];
  isActive: boolean;
  smtpHost: string;
  smtpPort: number;
  smtpSecurity: Schemas["SmtpSecurity"];
  smtpUsername: string;
  smtpPassword: string;
  removePassword: boolean;
  smtpFrom: string;
  smtpTo: string;
}

/** A new channel's form, or an existing one's (its URL masked by the API is not put back: blank keeps it). */
export function channelForm(channel?: Channel): ChannelForm {
  const smtp = channel?.smtp;
  return {
    name: channel?.name ?? "",
    type: channel?.type ?? "webhook",
    url: "",
    secret: "",
    removeSecret: false,
    events: channel ? [...channel.events] : ["run_failed"],
    scope: channel?.scope ?? "mine",
    isActive: channel?.is_active ?? true,
    smtpHost: smtp?.host ?? "",
    smtpPort: smtp?.port ?? 587,
    smtpSecurity: smtp?.security ?? "starttls",
    smtpUsername: smtp?.username ?? "",
    smtpPassword: "",
    removePassword: false,
    smtpFrom: smtp?.from ?? "",
    smtpTo: smtp?.to.join("\n") ?? "",
  };
}

/** The addresses of the To box: one a line (commas and semicolons also split), blanks dropped. */
export function recipients(text: string): string[] {
  return text
    .split(/[\n,;]/)
    .map((a) => a.trim())
    .filter((a) => a !== "");
}

/**
 * The body of POST (when `editing` is undefined) or PUT for the form. Only fields of the channel's type are sent; a
 * secret or password left blank is left out (kept), or sent as "" when its remove box is ticked; `scope` only by an
 * admin, who alone may choose it.
 */
export function channelBody(form: ChannelForm, editing: Channel | undefined, admin: boolean): Schemas["CreateChannelRequest"] {
  const body: Schemas["CreateChannelRequest"] = {
    name: form.name.trim(),
    type: form.type,
    events: [...form.events],
    is_active: form.isActive,
  };
  if (admin) body.scope = form.scope;
  if (form.type === "email") {
    body.smtp = {
      host: form.smtpHost.trim(),
      port: form.smtpPort,
      security: form.smtpSecurity,
      username: form.smtpUsername.trim() === "" ? null : form.smtpUsername.trim(),
      from: form.smtpFrom.trim(),
      to: recipients(form.smtpTo),
    };
    const password = written(form.smtpPassword, form.removePassword, editing?.smtp?.password_set ?? false);
    if (password !== undefined) body.smtp.password = password;
    return body;
  }
  if (form.url.trim() !== "" || !editing) body.url = form.url.trim();
  if (takesSecret(form.type)) {
    const secret = written(form.secret, form.removeSecret, editing?.secret_set ?? false);
    if (secret !== undefined) body.secret = secret;
  }
  return body;
}

/** A write-only value: what was typed, "" to remove a stored one, or undefined to leave it as it is. */
function written(typed: string, remove: boolean, stored: boolean): string | undefined {
  if (typed !== "") return typed;
  return remove && stored ? "" : undefined;
}
