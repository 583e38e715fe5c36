import { describe, expect, it } from "vitest";
import { channelBody, channelForm, recipients, type Channel } from "@/logic/channels";

const webhook: Channel = {
  id: 7,
  user_id: 1,
  name: "ops",
  type: "webhook",
  scope: "mine",
  events: ["run_failed"],
  url: "https://hooks.example.com/***",
  secret_set: true,
  smtp: null,
  is_active: true,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
};

const email: Channel = {
  ...webhook,
  id: 8,
  type: "email",
  url: null,
  secret_set: false,
  smtp: { host: "smtp.example.com", port: 465, security: "ssl", username: "robot", from: "robot@example.com", to: ["a@example.com", "b@example.com"], password_set: true },
};

describe("the channel form's body", () => {
  it("creates a webhook with its url, secret and events; scope only from an admin", () => {
    const form = { ...channelForm(), name: " ops ", url: "https://hooks.example.com/x ", secret: "s", events: ["run_failed", "table_gaps"] as Channel["events"] };
    expect(channelBody(form, undefined, false)).toEqual({
      name: "ops",
      type: "webhook",
      url: "https://hooks.example.com/x",
      secret: "s",
      events: ["run_failed", "table_gaps"],
      is_active: true,
    });
    expect(channelBody({ ...form, scope: "all" }, undefined, true).scope).toBe("all");
  });

  it("keeps a stored url and secret when left blank, and removes the secret only when asked", () => {
    const form = channelForm(webhook);
    expect(form.url).toBe("");
    expect(form.secret).toBe("");
    const kept = channelBody(form, webhook, false);
    expect("url" in kept).toBe(false);
    expect("secret" in kept).toBe(false);
    expect(channelBody({ ...form, removeSecret: true }, webhook, false).secret).toBe("");
    expect(channelBody({ ...form, secret: "new" }, webhook, false).secret).toBe("new");
  });

  it("sends no secret for the robots whose URL is their credential", () => {
    const form = { ...channelForm(), type: "wecom" as const, name: "w", url: "https://qyapi.weixin.qq.com/x", secret: "typed before switching" };
    expect("secret" in channelBody(form, undefined, false)).toBe(false);
  });

  it("sends an email channel's smtp, keeping its stored password unless one is typed or removed", () => {
    const form = channelForm(email);
    expect(form.smtpTo).toBe("a@example.com\nb@example.com");
    const body = channelBody(form, email, false);
    expect(body.url).toBeUndefined();
    expect(body.smtp).toEqual({ host: "smtp.example.com", port: 465, security: "ssl", username: "robot", from: "robot@example.com", to: ["a@example.com", "b@example.com"] });
    expect(channelBody({ ...form, removePassword: true }, email, false).smtp?.password).toBe("");
    expect(channelBody({ ...form, smtpPassword: "pw" }, email, false).smtp?.password).toBe("pw");
    expect(channelBody({ ...form, smtpUsername: " " }, email, false).smtp?.username).toBeNull();
  });

  it("reads recipients one a line, or split by commas and semicolons", () => {
    expect(recipients(" a@x.cn\n\nb@x.cn, c@x.cn;d@x.cn ")).toEqual(["a@x.cn", "b@x.cn", "c@x.cn", "d@x.cn"]);
  });
});
