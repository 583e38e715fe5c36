// @vitest-environment node
/// <reference types="node" />
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "vue/compiler-sfc";
import { zh } from "@/i18n/zh";
import { en } from "@/i18n/en";

/**
 * Every label comes from one catalogue per language (src/i18n/zh.ts, en.ts): the type checker holds the two to the same
 * keys; these hold the rest. A word written into a template, or Chinese written into code, shows in one language
 * whatever the reader chose; a placeholder ({table}) missing from one catalogue drops that value in that language.
 */
const src = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : /\.(ts|vue)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

const WORD = /[A-Za-z\u4e00-\u9fff]/;
const CHINESE = /[\u4e00-\u9fff]/;
/** Attributes a person reads (or a screen reader says). */
const READ_ATTRIBUTES = new Set(["label", "placeholder", "title", "aria-label", "alt", "empty-text", "content", "text", "description"]);
/** Written the same in both languages on purpose: a date format to type. */
const SAME_IN_BOTH = new Set(["YYYY-MM-DD"]);

/** The template AST's nodes as far as this test reads them (Vue's NodeTypes: 1 element, 2 text, 6 attribute). */
interface TemplateNode {
  type: number;
  content?: unknown;
  children?: TemplateNode[];
  props?: Array<{ type: number; name: string; value?: { content: string } }>;
  loc: { start: { line: number } };
}

function literalWords(node: TemplateNode, found: string[]): void {
  if (node.type === 2 && typeof node.content === "string") {
    const text = node.content.trim();
    if (WORD.test(text) && !SAME_IN_BOTH.has(text)) found.push(`line ${node.loc.start.line}: text "${text}"`);
  }
  for (const prop of node.props ?? []) {
    const value = prop.value?.content ?? "";
    if (prop.type === 6 && READ_ATTRIBUTES.has(prop.name) && WORD.test(value) && !SAME_IN_BOTH.has(value)) {
      found.push(`line ${node.loc.start.line}: ${prop.name}="${value}"`);
    }
  }
  for (const child of node.children ?? []) literalWords(child, found);
}

/** Each message's placeholders, by the message's path: "scripts.downloadStarted" -> ["table"]. */
function placeholders(messages: object, path = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    const at = path ? `${path}.${key}` : key;
    if (typeof value === "string") out.set(at, [...value.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(","));
    else if (value && typeof value === "object") for (const [k, v] of placeholders(value as object, at)) out.set(k, v);
  }
  return out;
}

describe("every label from one catalogue per language", () => {
  it("no template writes a word of its own", () => {
    const problems: string[] = [];
    for (const file of files(src).filter((f) => f.endsWith(".vue"))) {
      const ast = parse(readFileSync(file, "utf8"), { filename: file }).descriptor.template?.ast as unknown as TemplateNode | undefined;
      if (!ast) continue;
      const found: string[] = [];
      literalWords(ast, found);
      problems.push(...found.map((f) => `${relative(src, file)} ${f}`));
    }
    expect(problems).toEqual([]);
  });

  it("no code outside the catalogues writes Chinese (AKShare's column names, which are data, excepted)", () => {
    const problems: string[] = [];
    for (const file of files(src)) {
      const name = relative(src, file).split("\\").join("/");
      if (name.startsWith("i18n/") || name === "logic/tableData.ts") continue;
      const code = readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/<!--[\s\S]*?-->/g, "")
        .replace(/\/\/[^\n]*/g, "");
      code.split("\n").forEach((line, i) => {
        if (CHINESE.test(line)) problems.push(`${name}: ${line.trim()} (${i + 1}th line without comments)`);
      });
    }
    expect(problems).toEqual([]);
  });

  it("the two catalogues fill the same placeholders in each message, and none is empty", () => {
    const chinese = placeholders(zh);
    const english = placeholders(en);
    expect([...english.keys()].sort()).toEqual([...chinese.keys()].sort());
    const differ = [...chinese].filter(([key, names]) => english.get(key) !== names).map(([key, names]) => `${key}: {${names}} / {${english.get(key)}}`);
    expect(differ).toEqual([]);
    const empty: string[] = [];
    const walk = (messages: object, path: string) => {
      for (const [key, value] of Object.entries(messages)) {
        if (typeof value === "string" && value.trim() === "") empty.push(`${path}${key}`);
        else if (value && typeof value === "object") walk(value as object, `${path}${key}.`);
      }
    };
    walk(zh, "zh.");
    walk(en, "en.");
    expect(empty).toEqual([]);
  });
});
