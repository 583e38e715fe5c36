import { computed, ref } from "vue";
import { zh, type Messages } from "./zh";
import { en } from "./en";

export type Locale = "zh" | "en";

const catalogues: Record<Locale, Messages> = { zh, en };

/** Chinese unless ?lang=en (or a choice made with the switch, remembered in this browser). */
function initialLocale(): Locale {
  const asked = new URLSearchParams(globalThis.location?.search ?? "").get("lang");
  if (asked === "en" || asked === "zh") return asked;
  try {
    const kept = globalThis.localStorage?.getItem("akshareweb.lang");
    if (kept === "en" || kept === "zh") return kept;
  } catch {
    // storage may be off; the default stands
  }
  return "zh";
}

export const locale = ref<Locale>(initialLocale());

export function setLocale(next: Locale): void {
  locale.value = next;
  try {
    globalThis.localStorage?.setItem("akshareweb.lang", next);
  } catch {
    // not remembered; still switched
  }
  if (typeof document !== "undefined") document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
}

/** A language's catalogue, for code that is given the language rather than reading the current one. */
export function catalogueOf(language: Locale): Messages {
  return catalogues[language];
}

/** The current catalogue, reactive: templates read messages as m.value.nav.home. */
export const messages = computed<Messages>(() => catalogues[locale.value]);

/** Fills {name} placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
