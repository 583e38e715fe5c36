import { onBeforeUnmount, onMounted } from "vue";
import { ElMessage } from "element-plus";
import "element-plus/es/components/message/style/css";
import { ApiProblem } from "./api";
import { messages } from "./i18n";

/** Calls `tick` every `ms` while the view is shown and `active()` says so; a tick never overlaps the previous one. */
export function usePolling(tick: () => Promise<void>, ms: number, active: () => boolean = () => true): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const loop = async () => {
    if (stopped) return;
    if (active() && document.visibilityState !== "hidden") {
      try {
        await tick();
      } catch {
        // shown by the view's own error handling; polling goes on
      }
    }
    if (!stopped) timer = setTimeout(loop, ms);
  };
  onMounted(() => {
    timer = setTimeout(loop, ms);
  });
  onBeforeUnmount(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

/** The service's message for a failed call (never a stack), as a toast. */
export function showProblem(e: unknown): void {
  if (e instanceof ApiProblem) {
    if (e.status === 0) ElMessage.error(messages.value.errors.network);
    else if (e.status !== 401) ElMessage.error(e.fields.length > 0 ? `${e.message}: ${e.fields.map((f) => `${f.field} ${f.message}`).join("; ")}` : e.message);
    return;
  }
  ElMessage.error(String(e));
}

export function showDone(text: string): void {
  ElMessage.success(text);
}
