/* Shared by the dashboard and the task page: a task's status in words, its progress bars and its ticking elapsed
   time, updated from the API's task JSON. The codes and words come with the page (#task-vocabulary, written from
   views/task_display.py), so that they match the server-rendered ones. */
window.AerieTasks = (function () {
  "use strict";
  const WORDS = JSON.parse(document.getElementById("task-vocabulary").textContent);
  const {QUEUED, RUNNING, FAILED} = WORDS.codes;

  function statusLabel(task) {
    if (WORDS.pending[task.pending_action]) return WORDS.pending[task.pending_action];
    if (task.partial) return WORDS.uploading;
    if ((task.status === null || task.status === QUEUED) && !task.uuid) {
      return task.processing_node === null ? WORDS.waitingForNode : WORDS.uploadingToNode;
    }
    return WORDS.status[task.status] || WORDS.unknown;
  }

  function statusTone(task) {
    if (task.pending_action) return WORDS.pendingTone;
    return WORDS.tone[task.status] || WORDS.defaultTone;
  }

  function isActive(task) {
    return Boolean(task.partial || task.pending_action || WORDS.active.includes(task.status));
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined || ms < 0) return "—";
    const total = Math.floor(ms / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    if (hours) return `${hours}h ${two(minutes)}m ${two(seconds)}s`;
    if (minutes) return `${minutes}m ${two(seconds)}s`;
    return `${seconds}s`;
  }

  function setBar(bar, fraction, busy) {
    if (!bar) return;
    const percent = Math.round(100 * Math.max(0, Math.min(1, fraction)));
    bar.setAttribute("aria-valuenow", String(percent));
    const inner = bar.querySelector(".progress-bar");
    inner.style.width = (busy ? 100 : percent) + "%";
    inner.classList.toggle("progress-bar-striped", busy);
    inner.classList.toggle("progress-bar-animated", busy);
    inner.classList.toggle("bg-success", !busy && percent === 100);
  }

  // The elapsed time: the server renders it; here it ticks, and moves on (never back) with the API's figures.
  function showElapsed(el) {
    const ms = Number(el.dataset.elapsedMs);
    const ticking = el.dataset.ticking === "true";
    const shown = el.dataset.elapsedMs === "" ? null : ms + (ticking ? performance.now() - Number(el.dataset.t0) : 0);
    el.textContent = formatDuration(shown);
    return shown;
  }

  function startElapsed(el) {
    el.dataset.t0 = String(performance.now());
    showElapsed(el);
  }

  function updateElapsed(el, task) {
    const shown = showElapsed(el);
    const mode = task.processing_time >= 0 ? "processing" : "since-created";
    const ticking = mode === "processing" ? task.status === RUNNING && !task.pending_action : isActive(task);
    let base = shown;
    if (mode === "processing") {
      base = el.dataset.mode !== mode || !ticking ? task.processing_time : Math.max(shown || 0, task.processing_time);
    } else if (!isActive(task)) {
      base = null;
    }
    el.dataset.mode = mode;
    el.dataset.ticking = String(ticking);
    el.dataset.elapsedMs = base === null ? "" : String(Math.round(base));
    startElapsed(el);
  }

  // Update a task's status badge, error line, progress bars and elapsed time inside a container.
  function apply(container, task) {
    const badge = container.querySelector("[data-field=status]");
    if (badge) {
      badge.textContent = statusLabel(task);
      badge.className = badge.className.replace(/text-bg-\w+/, "text-bg-" + statusTone(task));
    }
    const error = container.querySelector("[data-field=error]");
    if (error) {
      error.textContent = task.last_error || "";
      error.classList.toggle("d-none", !task.last_error);
      error.classList.toggle("text-danger", task.status === FAILED);
      error.classList.toggle("text-body-secondary", task.status !== FAILED);
    }
    const images = container.querySelector("[data-field=images]");
    if (images) images.textContent = `${task.images_count} image${task.images_count === 1 ? "" : "s"}`;
    setBar(container.querySelector("[data-progress=server]"), task.partial ? 0 : 1, task.partial);
    setBar(container.querySelector("[data-progress=node]"), task.upload_progress, false);
    setBar(container.querySelector("[data-progress=processing]"), task.running_progress, false);
    const elapsed = container.querySelector("[data-elapsed-ms]");
    if (elapsed) updateElapsed(elapsed, task);
    container.dataset.active = String(isActive(task));
  }

  document.querySelectorAll("[data-elapsed-ms]").forEach(startElapsed);
  setInterval(() => document.querySelectorAll("[data-elapsed-ms][data-ticking=true]").forEach(showElapsed), 1000);

  return {statusLabel, statusTone, isActive, formatDuration, apply};
})();
