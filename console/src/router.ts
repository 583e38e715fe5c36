import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { basePath, onSessionEnded } from "./api";
import { forget, isAdmin, restore, user } from "./session";
import SignIn from "./views/SignIn.vue";

/**
 * Every view but sign-in is its own chunk, loaded when first opened: the first view of a signed-out visitor needs
 * the framework and the sign-in form only.
 */
const routes: RouteRecordRaw[] = [
  { path: "/signin", name: "signin", component: SignIn, meta: { public: true } },
  { path: "/register", name: "register", component: () => import("./views/Register.vue"), meta: { public: true } },
  {
    path: "/",
    component: () => import("./layout/Shell.vue"),
    children: [
      { path: "", name: "home", component: () => import("./views/Home.vue") },
      { path: "scripts", name: "scripts", component: () => import("./views/Scripts.vue") },
      { path: "scripts/:scriptId", name: "script", component: () => import("./views/ScriptDetail.vue"), props: true },
      { path: "interfaces", name: "interfaces", component: () => import("./views/Interfaces.vue") },
      { path: "interfaces/:interfaceId", name: "interface", component: () => import("./views/InterfaceDetail.vue"), props: true },
      { path: "tasks", name: "tasks", component: () => import("./views/Tasks.vue") },
      { path: "tasks/new", name: "task-new", component: () => import("./views/TaskEditor.vue") },
      { path: "tasks/:taskId", name: "task", component: () => import("./views/TaskEditor.vue"), props: true },
      { path: "executions", name: "executions", component: () => import("./views/Executions.vue") },
      { path: "executions/:executionId", name: "execution", component: () => import("./views/ExecutionDetail.vue"), props: true },
      { path: "tables", name: "tables", component: () => import("./views/Tables.vue") },
      { path: "tables/:tableName", name: "table", component: () => import("./views/TableDetail.vue"), props: true },
      { path: "notifications", name: "notifications", component: () => import("./views/Notifications.vue") },
      { path: "notifications/deliveries", name: "deliveries", component: () => import("./views/Deliveries.vue") },
      { path: "users", name: "users", component: () => import("./views/Users.vue"), meta: { admin: true } },
      { path: "settings", name: "settings", component: () => import("./views/Settings.vue"), meta: { admin: true } },
      { path: ":rest(.*)*", name: "not-found", component: () => import("./views/NotFound.vue") },
    ],
  },
];

export const router = createRouter({
  history: createWebHistory(basePath + "/"),
  routes,
  scrollBehavior: () => ({ top: 0 }),
});

router.beforeEach(async (to) => {
  if (to.meta["public"]) return true;
  if (!user.value && !(await restore())) {
    return { name: "signin", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  }
  if (to.meta["admin"] && !isAdmin.value) return { name: "home" };
  return true;
});

// The service ended the session (expired beyond refresh, revoked, logged out elsewhere): back to sign-in.
onSessionEnded(() => {
  if (!user.value) return;
  forget();
  void router.push({ name: "signin", query: { next: router.currentRoute.value.fullPath, ended: "1" } });
});
