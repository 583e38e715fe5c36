import { onBeforeUnmount, onMounted, ref, watch, type Ref } from "vue";
import { ElMessage } from "element-plus";
import "element-plus/es/components/message/style/css";
import { api, call, ApiProblem, type Schemas } from "./api";
import { messages } from "./i18n";
import { buildParameters, FilterSyntaxError, type BuildOptions, type FormState, type ParameterView } from "./logic/parameters";

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

/** The service's message for a failed call (never a stack), with the fields it named. */
export function problemText(e: unknown): string {
  if (!(e instanceof ApiProblem)) return String(e);
  if (e.status === 0) return messages.value.errors.network;
  return e.fields.length > 0 ? `${e.message}: ${e.fields.map((f) => `${f.field} ${f.message}`).join("; ")}` : e.message;
}

/** The service's message for a failed call, as a toast (none for a 401: the session's end is shown by the shell). */
export function showProblem(e: unknown): void {
  if (e instanceof ApiProblem && e.status === 401) return;
  ElMessage.error(problemText(e));
}

export function showDone(text: string): void {
  ElMessage.success(text);
}

/**
 * A page of a list endpoint with its paging state: read when the view opens and whenever the page or its size
 * changes; `reload` goes back to the first page (new filters). The service's message shows on failure.
 */
export function usePagedList<T>(fetchPage: (page: number, pageSize: number) => Promise<{ items: T[]; total: number }>, initialSize = 20) {
  const items = ref([]) as Ref<T[]>;
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(initialSize);
  const loading = ref(true);
  // Only the answer to the newest request is shown: a poll sent before a filter changed can answer after the
  // filtered request, and would otherwise put the unfiltered rows back under the new filter.
  let newest = 0;
  async function load(): Promise<void> {
    const request = ++newest;
    try {
      const answer = await fetchPage(page.value, pageSize.value);
      if (request !== newest) return;
      items.value = answer.items;
      total.value = answer.total;
    } catch (e) {
      if (request === newest) showProblem(e);
    } finally {
      if (request === newest) loading.value = false;
    }
  }
  function reload(): void {
    if (page.value !== 1) page.value = 1;
    else void load();
  }
  onMounted(load);
  watch([page, pageSize], load);
  return { items, total, page, pageSize, loading, load, reload };
}

/** Calls `then` once typing pauses for `ms`. */
export function debounced(then: () => void, ms = 250): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(then, ms);
  };
}

/**
 * The parameters a form sends, or null when a table source's filter is not a JSON object: that is then shown beside
 * its parameter, as the API's own 422 would be.
 */
export function formParameters(
  parameters: ParameterView[],
  state: FormState,
  problem: Ref<ApiProblem | null>,
  options: BuildOptions = {},
): Record<string, unknown> | null {
  try {
    return buildParameters(parameters, state, options);
  } catch (e) {
    if (!(e instanceof FilterSyntaxError)) throw e;
    const message = messages.value.params.filterInvalid;
    problem.value = new ApiProblem(422, 3001, message, [{ field: `parameters.${e.parameter}`, message }]);
    return null;
  }
}

/** Whether and how people may register here (GET /api/auth/registration), asked once the view opens. */
export function useRegistrationMode(): Ref<Schemas["RegistrationMode"] | null> {
  const mode = ref<Schemas["RegistrationMode"] | null>(null);
  onMounted(async () => {
    try {
      mode.value = (await call(api.GET("/api/auth/registration"))).mode;
    } catch {
      mode.value = null;
    }
  });
  return mode;
}
