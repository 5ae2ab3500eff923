/* Task page: follow the task's state and console while it is active (confirm.js asks before removing it).
   The page is complete without this script: it shows the state and console as they were when loaded. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const POLL_MS = 2500;
  const state = document.getElementById("task-state");
  const consoleBox = document.getElementById("console");
  const follow = document.getElementById("console-follow");
  const apiTask = state.dataset.api;
  let signature = signatureOf(JSON.parse(document.getElementById("task-data").textContent));
  let active = state.dataset.active === "true";

  // What decides the page's buttons and downloads: when it changes, the server renders the page afresh.
  function signatureOf(task) {
    return JSON.stringify([task.status, task.pending_action, task.partial, task.available_assets, task.last_error,
                           task.name]);
  }

  async function refreshTask() {
    const response = await fetch(apiTask, {headers: {Accept: "application/json"}, credentials: "same-origin"});
    if (response.status === 404) { window.location.assign("/"); return; }  // removed
    if (!response.ok) return;
    const task = await response.json();
    const next = signatureOf(task);
    if (next !== signature) { window.location.reload(); return; }
    window.AerieTasks.apply(state, task);
    active = window.AerieTasks.isActive(task);
  }

  async function refreshConsole() {
    const line = Number(consoleBox.dataset.line) || 0;
    const response = await fetch(`${apiTask}output/?line=${line}&f=json`, {credentials: "same-origin"});
    if (!response.ok) return;
    const {lines, count} = await response.json();
    if (count < line) {  // the console started again (a restart): show it from its start
      consoleBox.textContent = "";
      consoleBox.dataset.line = "0";
      return refreshConsole();
    }
    if (lines.length) {
      consoleBox.append(document.createTextNode(lines.join("\n") + "\n"));
      consoleBox.dataset.line = String(line + lines.length);
      if (follow.checked) consoleBox.scrollTop = consoleBox.scrollHeight;
    }
  }

  async function poll() {
    const wasActive = active;
    if (!document.hidden) {
      await Promise.all([refreshTask(), refreshConsole()]).catch(() => null);
    }
    if (active || wasActive) setTimeout(poll, POLL_MS);  // one more round after the end, for the last lines
  }

  follow.addEventListener("change", () => { if (follow.checked) consoleBox.scrollTop = consoleBox.scrollHeight; });
  consoleBox.scrollTop = consoleBox.scrollHeight;
  if (active) poll();
})();
