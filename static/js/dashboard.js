/* Dashboard: keep the task rows of each project up to date by polling the API's task list while any is active.
   The page is complete without this script; it only refreshes what the server rendered. */
(function () {
  "use strict";
  const POLL_MS = 3000;

  function activeProjects() {
    return [...document.querySelectorAll(".project-item")].filter(
      (project) => project.querySelector(".task-row[data-active=true]"));
  }

  async function refresh(project) {
    const response = await fetch(`/api/projects/${project.dataset.projectId}/tasks/`,
                                 {headers: {Accept: "application/json"}, credentials: "same-origin"});
    if (!response.ok) return;
    const byId = new Map((await response.json()).map((task) => [String(task.id), task]));
    project.querySelectorAll(".task-row").forEach((row) => {
      const task = byId.get(row.dataset.taskId);
      if (task) window.AerieTasks.apply(row, task);
      else row.remove();  // removed meanwhile
    });
  }

  async function poll() {
    if (!document.hidden) {
      await Promise.all(activeProjects().map((project) => refresh(project).catch(() => null)));
    }
    setTimeout(poll, POLL_MS);
  }

  setTimeout(poll, POLL_MS);
})();
